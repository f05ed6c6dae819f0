import type { Check } from "../../engine/index.js";
import { messageOf } from "../../errors.js";
import { KubeApi } from "../kube.js";
import { loadKubeconfig, selectContext, type ContextTarget } from "./kubeconfig.js";
import { runProbe, type ProbeTarget } from "./probe.js";

/**
 * An existing cluster reached through a kubeconfig context (`cluster.context`): dify-local never
 * runs kind for it, never touches its nodes, DNS or ingress, and works inside `namespace` only.
 * The kubeconfig is read once per command (KUBECONFIG honoured, as kubectl merges it).
 */
export class ExistingCluster {
  private loaded: Promise<{ api: KubeApi; target: ContextTarget }> | undefined;

  constructor(
    readonly context: string,
    readonly namespace: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  private load(): Promise<{ api: KubeApi; target: ContextTarget }> {
    this.loaded ??= loadKubeconfig(this.env).then(async (kc) => {
      const target = selectContext(kc, this.context, this.env);
      return { api: await KubeApi.of(kc), target };
    });
    return this.loaded;
  }

  /** Which cluster the context talks to; a missing context is a UserError listing the contexts. */
  async target(): Promise<ContextTarget> {
    return (await this.load()).target;
  }

  /** A Kubernetes API client for the context. */
  async kube(): Promise<KubeApi> {
    return (await this.load()).api;
  }

  /**
   * Creates the namespace when it is missing (server-side apply, field manager dify-local); a
   * namespace that exists is left exactly as it is. True when it was created.
   */
  async ensureNamespace(): Promise<boolean> {
    const kube = await this.kube();
    if (await kube.namespaceExists(this.namespace)) return false;
    await kube.applyObject({
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: this.namespace, labels: { "app.kubernetes.io/managed-by": "dify-local" } },
    });
    return true;
  }
}

/** How `verify` probes an existing cluster. */
export interface ExistingChecksOptions {
  image: string;
  timeoutSeconds: number;
  signal?: AbortSignal | undefined;
}

/** A check id's part from a label ("S3 API" -> "s3-api"). */
function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");
}

/** The check id of each target: `cluster.reach.<service>`, with the label when a service has several. */
export function reachIds(targets: readonly ProbeTarget[]): string[] {
  const per = new Map<string, number>();
  for (const t of targets) per.set(t.service, (per.get(t.service) ?? 0) + 1);
  return targets.map((t) => ((per.get(t.service) ?? 0) > 1 ? `cluster.reach.${t.service}.${slug(t.label)}` : `cluster.reach.${t.service}`));
}

/**
 * `verify` on an existing cluster: the context's API answers, the namespace exists, and from a
 * probe Job inside the namespace a TCP connection opens to every endpoint the cluster is given
 * (one check each); then the Job is gone (its own check).
 */
export async function existingClusterChecks(
  cluster: ExistingCluster,
  targets: readonly ProbeTarget[],
  options: ExistingChecksOptions,
): Promise<Check[]> {
  const { context, namespace } = cluster;
  const api: Check = { id: "cluster.api", ok: false, what: `the API server of context ${context} answers` };
  const ns: Check = { id: "cluster.namespace", ok: false, what: `namespace ${namespace} exists` };
  let exists: boolean;
  try {
    const target = await cluster.target();
    api.what = `the API server of context ${context} (${target.server}) answers`;
    exists = await (await cluster.kube()).namespaceExists(namespace);
  } catch (err) {
    return [{ ...api, detail: messageOf(err), fix: `kubectl --context ${context} get namespace ${namespace}` }];
  }
  if (!exists)
    return [
      { ...api, ok: true },
      { ...ns, detail: "it does not", fix: "run `dify-local up` (it creates the namespace)" },
    ];
  return [{ ...api, ok: true }, { ...ns, ok: true }, ...(await reachChecks(cluster, targets, options))];
}

async function reachChecks(cluster: ExistingCluster, targets: readonly ProbeTarget[], options: ExistingChecksOptions): Promise<Check[]> {
  if (targets.length === 0) return [];
  const { namespace } = cluster;
  const ids = reachIds(targets);
  const what = (t: ProbeTarget): string => `pods in namespace ${namespace} reach ${t.service} (${t.label}) at ${t.host}:${t.port}`;
  const fix =
    "check the network path from the cluster to that address (firewall, security groups, NetworkPolicy); " +
    "for this machine's services, publicHost must reach this machine from the cluster and the ports be published there (bind)";
  try {
    const outcome = await runProbe(await cluster.kube(), targets, { namespace, ...options });
    const checks: Check[] = targets.map((t, i) => {
      const reached = outcome.reached[i];
      const id = ids[i] ?? `cluster.reach.${t.service}`;
      if (reached === true) return { id, ok: true, what: what(t) };
      const detail =
        reached === false ? `the TCP connection from probe Job ${outcome.job} failed` : (outcome.problem ?? "the probe gave no answer");
      return { id, ok: false, what: what(t), detail, fix };
    });
    const cleanup: Check = { id: "cluster.probe-deleted", ok: outcome.deleted, what: `probe Job ${outcome.job} deleted with its pods` };
    return [
      ...checks,
      outcome.deleted
        ? cleanup
        : {
            ...cleanup,
            detail: outcome.cleanup ?? "",
            fix: `kubectl --context ${cluster.context} -n ${namespace} delete job ${outcome.job}`,
          },
    ];
  } catch (err) {
    // An interruption stops the command (the Job was deleted on the way out); anything else is the probe's failure.
    if (options.signal?.aborted) throw err;
    return targets.map((t, i) => ({
      id: ids[i] ?? `cluster.reach.${t.service}`,
      ok: false,
      what: what(t),
      detail: `the probe Job could not run: ${messageOf(err)}`,
      fix: `kubectl --context ${cluster.context} -n ${namespace} get jobs,pods`,
    }));
  }
}
