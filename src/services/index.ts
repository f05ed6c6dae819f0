import { minio } from "./minio/index.js";
import { postgres } from "./postgres/index.js";
import { qdrant } from "./qdrant/index.js";
import { redis } from "./redis/index.js";
import { registry } from "./registry/index.js";
import type { Service, StackConfig } from "./service.js";

export * from "./service.js";
export * from "./fields.js";
export { externalFailure, networkFailure, errorCodes } from "./external.js";
export type { ExternalFacts, Failure, FailureKind } from "./external.js";
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
  postgresExternalSchema,
  postgresExternalFindings,
  postgresFailure,
  createDatabaseSql,
  sslOption,
  SSL_MODES,
  parseCopy,
  tableFromDump,
} from "./postgres/index.js";
export type {
  PostgresSettings,
  PostgresLive,
  PostgresDoctorFacts,
  PostgresExternal,
  PostgresExternalFacts,
  SslMode,
  PgConnection,
} from "./postgres/index.js";
export { redis, redisSchema, redisPing, requirepass, liveRedis, redisExternalSchema, redisFailure, clusterEnabled } from "./redis/index.js";
export type { RedisSettings, RedisLive, RedisExternal } from "./redis/index.js";
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
export { s3Location, s3Client, classifyS3Error, isAwsHost } from "./minio/external.js";
export type { S3External } from "./minio/external.js";
export { ExternalProbeError } from "./minio/external-errors.js";
export { qdrant, qdrantSchema, liveQdrant, qdrantExternalSchema, qdrantFailure } from "./qdrant/index.js";
export type { QdrantSettings, QdrantLive, QdrantExternal } from "./qdrant/index.js";
export { registry, registrySchema, catalog, tags } from "./registry/index.js";
export type { RegistrySettings, RegistryTarget } from "./registry/index.js";
export { registryBase, parseEcrPrefix } from "./registry/external.js";
export type { RegistryExternal } from "./registry/external.js";

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

/**
 * Whether the service's section says `external: {...}`: a server dify-local does not run (no
 * container, volume or port); its endpoints give the external host:port, for the host and the cluster.
 */
export function isExternal(service: Service, config: StackConfig): boolean {
  return service.external(config) !== undefined;
}
