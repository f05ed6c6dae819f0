import type { Config } from "../config/index.js";
import type { Finding } from "../engine/index.js";
import type { Cluster } from "./cluster.js";
import { HOST_ALIAS } from "./files.js";

/** The proxy variables kind passes into the node containers (it reads them from its own environment). */
export interface ProxyEnv {
  HTTP_PROXY?: string;
  HTTPS_PROXY?: string;
  NO_PROXY?: string;
}

/**
 * The proxy the nodes should pull through: `cluster.proxy` where set, else the standard
 * HTTP_PROXY / HTTPS_PROXY / NO_PROXY of the environment (either case). Without a proxy, nothing.
 * With one, NO_PROXY always also names what must never go through it: the host alias (the local
 * registry and every host service), localhost, cluster-internal names and the kind network's
 * subnet (node to node). Pure.
 */
export function nodeProxyEnv(config: Config, env: NodeJS.ProcessEnv, subnet: string | undefined): ProxyEnv {
  const p = config.cluster.proxy;
  const http = p.http ?? env.HTTP_PROXY ?? env.http_proxy;
  const https = p.https ?? env.HTTPS_PROXY ?? env.https_proxy;
  if (!http && !https) return {};
  const given = p.noProxy ?? (env.NO_PROXY ?? env.no_proxy ?? "").split(",");
  const always = [HOST_ALIAS, "localhost", "127.0.0.1", ".svc", ".svc.cluster.local", ".cluster.local", ...(subnet ? [subnet] : [])];
  const noProxy = [...new Set([...given.map((h) => h.trim()).filter(Boolean), ...always])];
  return { ...(http ? { HTTP_PROXY: http } : {}), ...(https ? { HTTPS_PROXY: https } : {}), NO_PROXY: noProxy.join(",") };
}

/** The variables in both spellings, as tools differ in which they read. */
export function bothCases(env: ProxyEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env) as Array<[string, string | undefined]>) {
    if (v === undefined) continue;
    out[k] = v;
    out[k.toLowerCase()] = v;
  }
  return out;
}

/** What the doctor says about the proxy the nodes really have (their containers' environment, as kind set it). */
export async function nodeProxyFinding(cluster: Cluster): Promise<Finding> {
  const seen = new Set<string>();
  for (const node of await cluster.nodes()) {
    const env = (await cluster.runtime.inspect(node.id))?.env ?? {};
    const via = env.HTTPS_PROXY ?? env.https_proxy ?? env.HTTP_PROXY ?? env.http_proxy;
    seen.add(via ? `${via} (NO_PROXY ${env.NO_PROXY ?? env.no_proxy ?? "unset"})` : "");
  }
  const proxies = [...seen];
  if (proxies.length === 1 && proxies[0] === "")
    return { id: "cluster.proxy", severity: "info", what: "the nodes pull directly, through no proxy" };
  if (proxies.length === 1) return { id: "cluster.proxy", severity: "info", what: `the nodes pull through ${proxies[0] ?? ""}` };
  return {
    id: "cluster.proxy",
    severity: "warning",
    what: `the nodes do not agree on a proxy: ${proxies.map((p) => p || "none").join("; ")}`,
    why: "a node added or recreated later got other settings; pulls behave differently per node",
    fix: "set cluster.proxy in dify-local.yaml and recreate the cluster (dify-local down, then up)",
  };
}
