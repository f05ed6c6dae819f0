import { existingClusterContext, isExternal, type Service, type StackConfig } from "../services/index.js";

/**
 * Which cluster a configuration uses: none (`cluster.enabled: false`, `--no-cluster`), a kind
 * cluster dify-local creates and wires (the default), or an existing cluster reached through a
 * kubeconfig context (`cluster.context`), in which dify-local changes nothing but its namespace.
 */
export type ClusterMode = "none" | "kind" | "existing";

/** The cluster mode of a (validated) configuration. */
export function clusterMode(config: StackConfig): ClusterMode {
  if ((config.cluster as { enabled?: unknown } | undefined)?.enabled === false) return "none";
  return existingClusterContext(config) === undefined ? "kind" : "existing";
}

/** The kubeconfig context of an existing cluster the configuration uses, or undefined (kind, or no cluster). */
export const existingContext = existingClusterContext;

/** The words of a context name that say production, each matched as a whole word part. */
const PRODUCTION_WORDS = new Set(["prod", "production", "prd"]);

/**
 * Whether a kubeconfig context's name suggests a production cluster: one of its word parts is
 * `prod`, `production` or `prd`. Word parts are split at anything but letters and digits (`-`,
 * `_`, `.`, `:`, `/`, `@`: EKS's `arn:aws:eks:...:cluster/prod-eu` too), at a lower-to-upper
 * case change (`myProdCluster`) and between letters and digits (`prod2`). `product`, `preprod`
 * or `prodigy` are words of their own and do not count.
 */
export function productionLike(context: string): boolean {
  return contextWords(context).some((w) => PRODUCTION_WORDS.has(w));
}

/** The lower-cased word parts of a context name (see {@link productionLike}). */
export function contextWords(context: string): string[] {
  return context
    .replace(/([a-z])([A-Z])/g, "$1 $2")
    .replace(/([A-Za-z])(\d)/g, "$1 $2")
    .replace(/(\d)([A-Za-z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

/** The enabled services that run as containers on this machine (not external). */
export function localServices(services: readonly Service[], config: StackConfig): Service[] {
  return services.filter((s) => s.settings(config).enabled && !isExternal(s, config));
}
