import { minio } from "./minio/index.js";
import { postgres } from "./postgres/index.js";
import { qdrant } from "./qdrant/index.js";
import { redis } from "./redis/index.js";
import { registry } from "./registry/index.js";
import type { Service } from "./service.js";

export * from "./service.js";
export * from "./fields.js";
export type { SnapshotCapability, SnapshotReader, SnapshotWriter } from "./snapshot.js";
export {
  postgres,
  postgresSchema,
  missingDatabases,
  isAuthFailure,
  passwordMismatchAdvice,
  livePostgres,
  postgresFindings,
  DATABASE_ROLES,
  withPostgres,
  parseCopy,
  tableFromDump,
} from "./postgres/index.js";
export type { PostgresSettings, PostgresLive, PostgresDoctorFacts } from "./postgres/index.js";
export { redis, redisSchema, redisPing, requirepass, liveRedis } from "./redis/index.js";
export type { RedisSettings, RedisLive } from "./redis/index.js";
export {
  minio,
  minioSchema,
  minioClient,
  liveMinioCredentials,
  iterateObjects,
  putFile,
  strayFiles,
  minioFindings,
  MINIO_DATA_DIR,
  anonymousPolicy,
  anonymousGrants,
  classifyPolicy,
  objectsFromSnapshot,
} from "./minio/index.js";
export type { MinioSettings, MinioCredentials, MinioDoctorFacts, AnonymousAccess, ListedObject } from "./minio/index.js";
export { qdrant, qdrantSchema, liveQdrant } from "./qdrant/index.js";
export type { QdrantSettings, QdrantLive } from "./qdrant/index.js";
export { registry, registrySchema, catalog, tags } from "./registry/index.js";
export type { RegistrySettings, RegistryTarget } from "./registry/index.js";

/**
 * The built-in services, in the seed's table order, each with its config schema. Adding a service
 * is its folder and one entry here; the configuration, `up`, `status`, `verify`, `info`, `values`
 * and `doctor` derive from this list.
 */
export const BUILTIN_SERVICES = { registry, postgres, redis, minio, qdrant } as const;

/** The built-in services' names, which are their config keys. */
export type ServiceName = keyof typeof BUILTIN_SERVICES;

/** The built-in services as a list. */
export const SERVICES: readonly Service[] = Object.values(BUILTIN_SERVICES);
