import type { Config, ServiceName } from "../config/index.js";
import type { Component } from "./component.js";
import { minio } from "./minio/index.js";
import { postgres } from "./postgres/index.js";
import { qdrant } from "./qdrant/index.js";
import { redis } from "./redis/index.js";
import { registry } from "./registry/index.js";

export * from "./component.js";
export { postgres, missingDatabases, isAuthFailure, passwordMismatchAdvice } from "./postgres/index.js";
export { redis, redisPing } from "./redis/index.js";
export { minio, minioClient, liveMinioCredentials, listAllObjects, MINIO_DATA_DIR, anonymousPolicy, anonymousGrants, classifyPolicy } from "./minio/index.js";
export type { MinioCredentials, AnonymousAccess, ListedObject } from "./minio/index.js";
export { qdrant } from "./qdrant/index.js";
export { registry, catalog, tags } from "./registry/index.js";

/** Every host service, in the seed's table order. */
export const COMPONENTS: Readonly<Record<ServiceName, Component>> = { registry, postgres, redis, minio, qdrant };

/** The enabled components of a config. */
export function enabledComponents(config: Config): Component[] {
  return Object.values(COMPONENTS).filter((c) => config[c.name].enabled);
}
