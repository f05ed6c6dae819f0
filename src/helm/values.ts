import { Document } from "yaml";
import { DIFY_DOMAINS } from "../config/index.js";
import type { LiveFacts } from "./facts.js";
import { DATABASE_ROLES } from "./facts.js";
import type { HelmSecrets } from "./secrets.js";

/**
 * The Dify EE chart lines dify-local renders for. 3.7.x describes PostgreSQL as
 * `externalPostgres` with one credentials block per database; 3.9.x as `externalDatabase` with one
 * user and a map of databases. Everything else this tool owns has the same keys in both.
 */
export const CHART_VERSIONS = ["3.7", "3.9"] as const;
export type ChartVersion = (typeof CHART_VERSIONS)[number];

/** The newest chart line; used when neither `--chart` nor the file being merged says otherwise. */
export const DEFAULT_CHART: ChartVersion = "3.9";

export type ValuesLeaf = string | number | boolean;
/** A plain nested values object, as Helm reads it. */
export interface ValuesTree {
  [key: string]: ValuesLeaf | ValuesTree;
}

export interface RenderValuesOptions {
  chart: ChartVersion;
  secrets: HelmSecrets;
}

/** The first line of every values file dify-local renders; `-o` only overwrites files that start with it. */
export const VALUES_MARKER = "# Dify EE Helm values, infrastructure part, rendered by dify-local";

/**
 * The infrastructure part of the Dify EE values: external PostgreSQL, Redis, S3 (MinIO) and Qdrant
 * with the live credentials, the local registry for plugin images, the built-in middleware
 * switched off, the ingress and domains, and the generated secrets. Pure: same input, same output.
 *
 * Key names follow langgenius' values generator for chart 3.7 (`global.*Domain`, `ingress.className`,
 * `externalPostgres.credentials.*`, `persistence.s3.*`, `vectorDB.externalQdrant.*`,
 * `plugin_connector.*`, `enterprise.*`). The 3.9 `externalDatabase` block follows the issue text;
 * no public copy of the 3.9 chart was found to confirm it.
 */
export function renderValues(facts: LiveFacts, options: RenderValuesOptions): ValuesTree {
  const { host, redis, minio, qdrant } = facts;
  const { secrets } = options;
  return {
    global: {
      appSecretKey: secrets.appSecretKey,
      consoleApiDomain: DIFY_DOMAINS.console,
      consoleWebDomain: DIFY_DOMAINS.console,
      serviceApiDomain: DIFY_DOMAINS.api,
      appApiDomain: DIFY_DOMAINS.app,
      appWebDomain: DIFY_DOMAINS.app,
      filesDomain: DIFY_DOMAINS.files,
      enterpriseDomain: DIFY_DOMAINS.enterprise,
      // Chart 3.7.0 and later (the values generator asks for it from 3.7.0 on).
      triggerDomain: DIFY_DOMAINS.trigger,
    },
    ingress: { enabled: true, className: "nginx" },
    enterprise: {
      appSecretKey: secrets.enterpriseAppSecretKey,
      adminAPIsSecretKeySalt: secrets.adminAPIsSecretKeySalt,
      passwordEncryptionKey: secrets.passwordEncryptionKey,
    },
    plugin_connector: {
      imageRepoType: "docker",
      imageRepoPrefix: `${host}:${facts.registry.port}`,
      // The local registry speaks plain HTTP.
      insecureImageRepo: true,
    },
    // The chart's own MinIO must stay off: enabled, its post-install job waits on it and hangs.
    minio: { enabled: false },
    persistence: {
      type: "s3",
      s3: {
        endpoint: `http://${host}:${minio.port}`,
        accessKey: minio.accessKey,
        secretKey: minio.secretKey,
        region: minio.region,
        bucketName: minio.bucket,
        addressType: "path",
        useAwsS3: false,
        useAwsManagedIam: false,
      },
    },
    ...(options.chart === "3.7" ? { externalPostgres: externalPostgres37(facts) } : { externalDatabase: externalDatabase39(facts) }),
    postgresql: { enabled: false },
    externalRedis: { enabled: true, useSSL: false, host, port: redis.port, username: "", password: redis.password, db: 0 },
    redis: { enabled: false },
    vectorDB: {
      useExternal: true,
      externalType: "qdrant",
      externalQdrant: { endpoint: `http://${host}:${qdrant.port}`, apiKey: qdrant.apiKey },
    },
    qdrant: { enabled: false },
  };
}

function externalPostgres37(facts: LiveFacts): ValuesTree {
  const pg = facts.postgres;
  const credentials: ValuesTree = {};
  for (const role of DATABASE_ROLES) {
    credentials[role] = {
      database: pg.databases[role],
      username: pg.user,
      password: pg.password,
      sslmode: "disable",
      extras: "",
      charset: "",
      uriScheme: "postgresql",
    };
  }
  return { enabled: true, address: facts.host, port: pg.port, credentials };
}

function externalDatabase39(facts: LiveFacts): ValuesTree {
  const pg = facts.postgres;
  const databases: ValuesTree = {};
  for (const role of DATABASE_ROLES) databases[role] = pg.databases[role];
  return {
    enabled: true,
    engine: "postgres",
    host: facts.host,
    port: pg.port,
    user: pg.user,
    password: pg.password,
    databases,
    dialectOptions: { postgres: { sslMode: "disable", uriScheme: "postgresql", extras: "" } },
  };
}

/** Rendered values as a YAML file: a header saying what it is, then the keys. */
export function valuesYaml(values: ValuesTree, chart: ChartVersion): string {
  const doc = new Document(values);
  doc.commentBefore = [
    `${VALUES_MARKER.slice(1)} (chart ${chart}.x) from the running stack.`,
    " Holds passwords and keys: keep it private. Use it as an extra `-f` after your values.yaml,",
    " or update your values.yaml in place with `dify-local values --merge values.yaml`.",
  ].join("\n");
  return doc.toString({ lineWidth: 0 });
}

/** One leaf of a values tree: its key path and value. */
export interface ValuesEntry {
  path: string[];
  value: unknown;
}

/**
 * The leaves of a values object, depth first in key order. Plain objects are descended into;
 * anything else (scalars, arrays, null) is a leaf. The doctor compares a user's values.yaml with
 * the rendered values through this, key by key.
 */
export function flattenValues(obj: unknown, prefix: readonly string[] = []): ValuesEntry[] {
  if (!isPlainObject(obj) || (Object.keys(obj).length === 0 && prefix.length > 0)) return [{ path: [...prefix], value: obj }];
  return Object.entries(obj).flatMap(([k, v]) => flattenValues(v, [...prefix, k]));
}

/** The value at a key path of a plain values object, or undefined. */
export function valueAt(obj: unknown, path: readonly string[]): unknown {
  let cur = obj;
  for (const key of path) {
    if (!isPlainObject(cur)) return undefined;
    cur = cur[key];
  }
  return cur;
}

/** A key path as people write it: `persistence.s3.accessKey`. */
export function formatKeyPath(path: readonly string[]): string {
  return path.join(".");
}

/** The leaf key paths dify-local owns (and `--merge` sets) for a chart line; the values differ per stack, the keys do not. */
export function valuesKeyPaths(chart: ChartVersion): string[][] {
  return flattenValues(renderValues(SHAPE_FACTS, { chart, secrets: SHAPE_SECRETS })).map((e) => e.path);
}

/**
 * Which chart line a values object is written for, from its PostgreSQL block: `externalDatabase`
 * is 3.9, `externalPostgres` alone is 3.7; undefined when it has neither.
 */
export function detectChart(values: unknown): ChartVersion | undefined {
  if (!isPlainObject(values)) return undefined;
  if ("externalDatabase" in values) return "3.9";
  if ("externalPostgres" in values) return "3.7";
  return undefined;
}

/** Narrows a string from a flag or an option to a chart line, or undefined. */
export function parseChart(value: string): ChartVersion | undefined {
  // "3.9.1" and "3.9.x" name the same line as "3.9".
  const line = /^(\d+\.\d+)(?:\.(?:\d+|x))?$/.exec(value.trim())?.[1];
  return CHART_VERSIONS.find((v) => v === line);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

// Only the shape of the rendered values is read from these.
const SHAPE_SECRETS: HelmSecrets = { appSecretKey: "", enterpriseAppSecretKey: "", adminAPIsSecretKeySalt: "", passwordEncryptionKey: "" };
const SHAPE_FACTS: LiveFacts = {
  host: "",
  postgres: { port: 0, user: "", password: "", databases: { dify: "", plugin_daemon: "", enterprise: "", audit: "" }, source: "config", container: "missing" },
  redis: { port: 0, password: "", source: "config", container: "missing" },
  minio: { port: 0, accessKey: "", secretKey: "", bucket: "", region: "", source: "config", container: "missing" },
  qdrant: { port: 0, apiKey: "", source: "config", container: "missing" },
  registry: { port: 0 },
};
