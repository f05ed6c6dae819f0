import type { AppsV1Api, CoreV1Api, V1ConfigMap, V1Node } from "@kubernetes/client-node";
import { OperationError, messageOf } from "../errors.js";
import { pollUntil } from "../util/index.js";

/** One node and whether its Ready condition is True. */
export interface NodeReadiness {
  name: string;
  ready: boolean;
}

function isNotFound(err: unknown): boolean {
  return (err as { code?: unknown }).code === 404;
}

/**
 * The few Kubernetes API calls dify-local makes, through @kubernetes/client-node, against the
 * cluster's own kubeconfig (from `kind get kubeconfig`, context `kind-<name>`).
 */
export class KubeApi {
  private constructor(
    private readonly core: CoreV1Api,
    private readonly apps: AppsV1Api,
  ) {}

  /**
   * A client for one context of a kubeconfig. The client library is loaded here, on first use:
   * it is the heaviest import and commands without a cluster (or without an engine) never need it.
   */
  static async open(kubeconfigYaml: string, context: string): Promise<KubeApi> {
    const k8s = await import("@kubernetes/client-node");
    const kc = new k8s.KubeConfig();
    kc.loadFromString(kubeconfigYaml);
    if (kc.getContexts().some((c) => c.name === context)) kc.setCurrentContext(context);
    return new KubeApi(kc.makeApiClient(k8s.CoreV1Api), kc.makeApiClient(k8s.AppsV1Api));
  }

  async nodes(): Promise<NodeReadiness[]> {
    const list = await this.core.listNode();
    return list.items.map((n: V1Node) => ({
      name: n.metadata?.name ?? "?",
      ready: (n.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True"),
    }));
  }

  /**
   * Polls until `expected` nodes exist and all are Ready; the timeout message names the nodes
   * that are not. Backoff from a short first interval, no fixed sleeps.
   */
  async waitNodesReady(expected: number, timeoutSeconds: number): Promise<NodeReadiness[]> {
    let last: NodeReadiness[] = [];
    let lastError = "";
    return pollUntil(
      async () => {
        try {
          last = await this.nodes();
          lastError = "";
        } catch (err) {
          lastError = messageOf(err);
          return undefined;
        }
        return last.length >= expected && last.every((n) => n.ready) ? last : undefined;
      },
      {
        initialMs: 200,
        timeoutMs: timeoutSeconds * 1000,
        onTimeout: () => {
          const notReady = last.filter((n) => !n.ready).map((n) => n.name);
          const missing = Math.max(0, expected - last.length);
          const parts = [
            notReady.length ? `not Ready: ${notReady.join(", ")}` : "",
            missing ? `${missing} of ${expected} nodes not registered yet` : "",
            lastError ? `API error: ${lastError}` : "",
          ].filter(Boolean);
          return new OperationError(`cluster nodes not Ready after ${timeoutSeconds}s (${parts.join("; ")})`, {
            hint: "kubectl describe nodes; raise cluster.readyTimeout in the config on a slow machine",
          });
        },
      },
    );
  }

  async readConfigMap(namespace: string, name: string): Promise<V1ConfigMap | undefined> {
    try {
      return await this.core.readNamespacedConfigMap({ name, namespace });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Creates or replaces a ConfigMap's data; returns false when it already had exactly that data. */
  async applyConfigMap(namespace: string, name: string, data: Record<string, string>): Promise<boolean> {
    const current = await this.readConfigMap(namespace, name);
    if (!current) {
      await this.core.createNamespacedConfigMap({ namespace, body: { metadata: { name, namespace }, data } });
      return true;
    }
    if (JSON.stringify(current.data ?? {}) === JSON.stringify(data)) return false;
    await this.core.replaceNamespacedConfigMap({ name, namespace, body: { ...current, data } });
    return true;
  }

  /** `kubectl rollout restart` and wait for the rollout to finish. */
  async restartDeployment(namespace: string, name: string, timeoutSeconds: number): Promise<void> {
    const d = await this.apps.readNamespacedDeployment({ name, namespace });
    const template = d.spec?.template;
    if (!d.spec || !template) throw new OperationError(`deployment ${namespace}/${name} has no pod template`);
    template.metadata = {
      ...template.metadata,
      annotations: { ...template.metadata?.annotations, "kubectl.kubernetes.io/restartedAt": new Date().toISOString() },
    };
    const updated = await this.apps.replaceNamespacedDeployment({ name, namespace, body: d });
    const generation = updated.metadata?.generation ?? 0;
    await pollUntil(
      async () => {
        const cur = await this.apps.readNamespacedDeployment({ name, namespace });
        const want = cur.spec?.replicas ?? 1;
        const s = cur.status;
        const done = (s?.observedGeneration ?? 0) >= generation && (s?.updatedReplicas ?? 0) >= want && (s?.availableReplicas ?? 0) >= want && (s?.replicas ?? 0) === want;
        return done ? true : undefined;
      },
      {
        initialMs: 200,
        timeoutMs: timeoutSeconds * 1000,
        onTimeout: () => new OperationError(`rollout of ${namespace}/${name} did not finish within ${timeoutSeconds}s`, { hint: `kubectl -n ${namespace} rollout status deployment/${name}` }),
      },
    );
  }
}
