import type {
  AppsV1Api,
  BatchV1Api,
  ConfigurationOptions,
  KubeConfig,
  CoreV1Api,
  KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
  V1ConfigMap,
  V1Deployment,
  V1Job,
  V1Node,
  V1Pod,
} from "@kubernetes/client-node";
import { OperationError, messageOf } from "../errors.js";
import { pollUntil } from "../util/index.js";
import { loadK8s } from "./k8s-client.js";

/** One node and whether its Ready condition is True. */
export interface NodeReadiness {
  name: string;
  ready: boolean;
}

function isNotFound(err: unknown): boolean {
  return (err as { code?: unknown }).code === 404;
}

/** What a read answers; undefined when the API says the object does not exist (404). */
async function unlessNotFound<T>(read: Promise<T>): Promise<T | undefined> {
  try {
    return await read;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** The field manager of every server-side apply dify-local makes. */
export const FIELD_MANAGER = "dify-local";

/** What names an object: its apiVersion, kind, name and (for a namespaced kind) namespace. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
}

/** 409: another writer changed the object since we read it (or created it since we looked). */
function isConflict(err: unknown): boolean {
  return (err as { code?: unknown }).code === 409;
}

/** How many times a read-modify-write is tried when the API server answers 409 Conflict. */
const CONFLICT_ATTEMPTS = 5;

/** A ConfigMap's new data, or a function of its current data (undefined when it does not exist). */
export type ConfigMapData = Record<string, string> | ((current: Record<string, string> | undefined) => Record<string, string>);

/** What a rollout still lacks, in words ("1 of 2 replicas available"); empty when it is complete. */
export function rolloutMissing(d: V1Deployment, generation: number): string[] {
  const want = d.spec?.replicas ?? 1;
  const s = d.status ?? {};
  const missing: string[] = [];
  if ((s.observedGeneration ?? 0) < generation) missing.push(`generation ${generation} not observed yet (at ${s.observedGeneration ?? 0})`);
  else {
    if ((s.updatedReplicas ?? 0) < want) missing.push(`${s.updatedReplicas ?? 0} of ${want} replicas updated`);
    if ((s.availableReplicas ?? 0) < want) missing.push(`${s.availableReplicas ?? 0} of ${want} updated replicas available`);
    if ((s.replicas ?? 0) > want) missing.push(`${(s.replicas ?? 0) - want} old replicas pending termination`);
  }
  return missing;
}

/** A Deployment's name and replicas, as the snapshot's consistency warning needs them. */
export interface DeploymentState {
  namespace: string;
  name: string;
  replicas: number;
  ready: number;
}

/**
 * The few Kubernetes API calls dify-local makes, through @kubernetes/client-node, against the
 * cluster's own kubeconfig (from `kind get kubeconfig`, context `kind-<name>`).
 */
export class KubeApi {
  private constructor(
    private readonly core: CoreV1Api,
    private readonly apps: AppsV1Api,
    /** Request options sending a PATCH as a strategic merge patch (client-node's default is JSON Patch). */
    private readonly strategicMerge: ConfigurationOptions,
    private readonly objects: KubernetesObjectApi,
    /** The content type of a server-side apply. */
    private readonly serverSideApply: PatchStrategy,
    private readonly batch: BatchV1Api,
  ) {}

  /**
   * A client for one context of a kubeconfig. The client library is loaded here, on first use:
   * it is the heaviest import and commands without a cluster (or without an engine) never need it.
   */
  static async open(kubeconfigYaml: string, context: string): Promise<KubeApi> {
    const k8s = await loadK8s();
    const kc = new k8s.KubeConfig();
    kc.loadFromString(kubeconfigYaml);
    if (kc.getContexts().some((c) => c.name === context)) kc.setCurrentContext(context);
    return KubeApi.of(kc);
  }

  /** A client for a loaded kubeconfig's current context. */
  static async of(kc: KubeConfig): Promise<KubeApi> {
    const k8s = await loadK8s();
    return new KubeApi(
      kc.makeApiClient(k8s.CoreV1Api),
      kc.makeApiClient(k8s.AppsV1Api),
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.StrategicMergePatch),
      k8s.KubernetesObjectApi.makeApiClient(kc),
      k8s.PatchStrategy.ServerSideApply,
      kc.makeApiClient(k8s.BatchV1Api),
    );
  }

  /** Whether a namespace exists. */
  async namespaceExists(name: string): Promise<boolean> {
    try {
      await this.core.readNamespace({ name });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /** Creates a Job (its name must be new). */
  createJob(namespace: string, job: V1Job): Promise<V1Job> {
    return this.batch.createNamespacedJob({ namespace, body: job });
  }

  /** A Job as it is now; undefined when it does not exist. */
  readJob(namespace: string, name: string): Promise<V1Job | undefined> {
    return unlessNotFound(this.batch.readNamespacedJob({ name, namespace }));
  }

  /** The names of the Jobs of a namespace matching a label selector. */
  async jobNames(namespace: string, labelSelector: string): Promise<string[]> {
    return (await this.batch.listNamespacedJob({ namespace, labelSelector })).items.map((j) => j.metadata?.name ?? "?");
  }

  /**
   * Deletes a Job and its pods. The API's default for Jobs orphans the pods (a legacy of
   * batch/v1), so the propagation is asked for explicitly. False when it was already gone.
   */
  async deleteJob(namespace: string, name: string): Promise<boolean> {
    try {
      await this.batch.deleteNamespacedJob({ name, namespace, propagationPolicy: "Background" });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /** A pod's log (its only container's). */
  podLog(namespace: string, name: string): Promise<string> {
    return this.core.readNamespacedPodLog({ name, namespace });
  }

  /** Every Deployment of the cluster, in all namespaces: its replicas as asked and as ready. */
  async deployments(): Promise<DeploymentState[]> {
    const list = await this.apps.listDeploymentForAllNamespaces();
    return list.items.map((d: V1Deployment) => ({
      namespace: d.metadata?.namespace ?? "",
      name: d.metadata?.name ?? "",
      replicas: d.spec?.replicas ?? 1,
      ready: d.status?.readyReplicas ?? 0,
    }));
  }

  /**
   * Scales a Deployment to `replicas` and waits until its status shows that many pods (none left
   * for 0), up to `timeoutSeconds`.
   */
  async scaleDeployment(namespace: string, name: string, replicas: number, timeoutSeconds: number): Promise<void> {
    await this.apps.patchNamespacedDeployment({ name, namespace, body: { spec: { replicas } } }, this.strategicMerge);
    await pollUntil(
      async () => {
        const d = await this.apps.readNamespacedDeployment({ name, namespace });
        const now = replicas === 0 ? (d.status?.replicas ?? 0) : (d.status?.readyReplicas ?? 0);
        return now === replicas ? true : undefined;
      },
      {
        timeoutMs: timeoutSeconds * 1000,
        onTimeout: () => new OperationError(`deployment ${namespace}/${name} did not reach ${replicas} replicas within ${timeoutSeconds}s`),
      },
    );
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

  /** Any object by its reference (the API group's discovery finds its resource); undefined when it does not exist. */
  readObject<T extends KubernetesObject = KubernetesObject>(ref: ObjectRef): Promise<T | undefined> {
    return unlessNotFound(this.objects.read<T>(ref));
  }

  /**
   * Server-side apply (field manager `dify-local`, no force): the API server merges the object's
   * fields into what exists, creating it when missing, and changes nothing when they are already so.
   */
  applyObject<T extends KubernetesObject>(obj: T): Promise<T> {
    return this.objects.patch(obj, undefined, undefined, FIELD_MANAGER, false, this.serverSideApply);
  }

  /** The names of every object of a cluster-scoped kind ("networking.k8s.io/v1", "IngressClass"). */
  async names(apiVersion: string, kind: string): Promise<string[]> {
    return (await this.objects.list(apiVersion, kind)).items.map((o) => o.metadata?.name ?? "?");
  }

  /** The pods of a namespace matching a label selector ("a=b,c=d"). */
  async pods(namespace: string, labelSelector: string): Promise<V1Pod[]> {
    return (await this.core.listNamespacedPod({ namespace, labelSelector })).items;
  }

  readConfigMap(namespace: string, name: string): Promise<V1ConfigMap | undefined> {
    return unlessNotFound(this.core.readNamespacedConfigMap({ name, namespace }));
  }

  /**
   * Creates or replaces a ConfigMap's data; returns false when it already had exactly that data.
   * The replace carries the resourceVersion that was read, so a write by someone else in between
   * is answered 409 Conflict instead of being overwritten; then the ConfigMap is read again and,
   * when `data` is a function (an edit such as the Corefile's), the edit is recomputed from it.
   */
  async applyConfigMap(namespace: string, name: string, data: ConfigMapData): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.readConfigMap(namespace, name);
      const want = typeof data === "function" ? data(current ? (current.data ?? {}) : undefined) : data;
      try {
        return await this.writeConfigMap(namespace, name, current, want);
      } catch (err) {
        if (!isConflict(err)) throw err;
        if (attempt >= CONFLICT_ATTEMPTS) {
          throw new OperationError(
            `ConfigMap ${namespace}/${name} kept changing while dify-local updated it (409 Conflict ${attempt} times)`,
            {
              hint: "something else is writing it; rerun `dify-local up` when it is done",
            },
          );
        }
      }
    }
  }

  private async writeConfigMap(
    namespace: string,
    name: string,
    current: V1ConfigMap | undefined,
    data: Record<string, string>,
  ): Promise<boolean> {
    if (!current) {
      await this.core.createNamespacedConfigMap({ namespace, body: { metadata: { name, namespace }, data } });
      return true;
    }
    if (JSON.stringify(current.data ?? {}) === JSON.stringify(data)) return false;
    await this.core.replaceNamespacedConfigMap({ name, namespace, body: { ...current, data } });
    return true;
  }

  /**
   * `kubectl rollout restart`: a strategic merge patch of the pod template's restartedAt
   * annotation (no read-modify-replace, so no conflict with other writers), then waits for the
   * rollout to finish; the timeout message says what it still lacks.
   */
  async restartDeployment(namespace: string, name: string, timeoutSeconds: number): Promise<void> {
    const patch = { spec: { template: { metadata: { annotations: { "kubectl.kubernetes.io/restartedAt": new Date().toISOString() } } } } };
    const updated = await this.apps.patchNamespacedDeployment({ name, namespace, body: patch }, this.strategicMerge);
    const generation = updated.metadata?.generation ?? 0;
    let missing: string[] = [];
    await pollUntil(
      async () => {
        missing = rolloutMissing(await this.apps.readNamespacedDeployment({ name, namespace }), generation);
        return missing.length === 0 ? true : undefined;
      },
      {
        initialMs: 200,
        timeoutMs: timeoutSeconds * 1000,
        onTimeout: () =>
          new OperationError(`rollout of ${namespace}/${name} did not finish within ${timeoutSeconds}s (${missing.join(", ")})`, {
            hint: `kubectl -n ${namespace} rollout status deployment/${name}`,
          }),
      },
    );
  }
}
