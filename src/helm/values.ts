import { Document } from "yaml";
import { deepMerge, isPlainObject } from "../util/index.js";
import { DIFY_DOMAINS } from "./domains.js";
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

/** The first line of every values file dify-local renders; `-o` only overwrites files that start with it. */
export const VALUES_MARKER = "# Dify EE Helm values, infrastructure part, rendered by dify-local";

/**
 * The stack-wide part of the Dify EE values: the domains, the ingress and the generated secrets.
 * Each service adds its own keys (its external block, its built-in switched off); see
 * {@link composeValues}. Key names follow langgenius' values generator (`global.*Domain`,
 * `ingress.className`, `enterprise.*`). `ingressClass` is the cluster's (`cluster.ingress.className`).
 */
export function globalValues(secrets: HelmSecrets, chart: ChartVersion, ingressClass = "nginx"): ValuesTree {
  const values: ValuesTree = {
    global: {
      appSecretKey: secrets.appSecretKey,
      innerApiKey: secrets.innerApiKey,
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
    ingress: { enabled: true, className: ingressClass },
    enterprise: {
      appSecretKey: secrets.enterpriseAppSecretKey,
      adminAPIsSecretKeySalt: secrets.adminAPIsSecretKeySalt,
      passwordEncryptionKey: secrets.passwordEncryptionKey,
    },
  };
  return chart === "3.7" ? composeValues([values, innerKeys37(secrets)]) : values;
}

/** Chart 3.7's per-service inner API keys (3.9 has the one `global.innerApiKey`). */
function innerKeys37(secrets: HelmSecrets): ValuesTree {
  return {
    api: { innerApi: { apiKey: secrets.apiInnerApiKey } },
    sandbox: { apiKey: secrets.sandboxApiKey },
    plugin_daemon: { apiKey: secrets.pluginDaemonApiKey },
    plugin_connector: { apiKey: secrets.pluginConnectorApiKey },
    enterprise: { innerApi: { apiKey: secrets.enterpriseInnerApiKey } },
  };
}

/** Values trees laid over each other in order (a later tree's keys win); pure. */
export function composeValues(parts: readonly ValuesTree[]): ValuesTree {
  return parts.reduce<Record<string, unknown>>((acc, part) => deepMerge(acc, part), {}) as ValuesTree;
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
