import type { Config } from "../config/index.js";
import type { LabelledContainer, Runtime } from "../runtime/index.js";
import { Kind } from "./kind.js";
import { KubeApi } from "./kube.js";
import { KIND_LABELS } from "./wiring.js";

/**
 * The kind cluster of a configuration, as one handle: its name and kubeconfig context, and the
 * lookups every step needs, each made once per command (`kind get clusters`, the node containers,
 * `kind get kubeconfig` and the API client), like kind's own action context with its cached
 * `Nodes()`. {@link Cluster.forget} drops what a change (creating the cluster) made stale.
 */
export class Cluster {
  readonly name: string;
  /** The kubeconfig context kind writes for the cluster. */
  readonly contextName: string;
  private clusters: Promise<string[]> | undefined;
  private nodeList: Promise<LabelledContainer[]> | undefined;
  private api: Promise<KubeApi> | undefined;

  constructor(
    readonly config: Config,
    readonly runtime: Runtime,
    readonly kind: Kind = new Kind(),
  ) {
    this.name = config.cluster.name;
    this.contextName = `kind-${this.name}`;
  }

  /** Whether kind knows a cluster of this name. */
  async exists(): Promise<boolean> {
    this.clusters ??= this.kind.clusters();
    return (await this.clusters).includes(this.name);
  }

  /** The node containers, sorted by name (control plane first). */
  nodes(): Promise<LabelledContainer[]> {
    this.nodeList ??= this.runtime
      .listByLabel(KIND_LABELS.cluster, this.name)
      .then((nodes) => nodes.sort((a, b) => a.name.localeCompare(b.name)));
    return this.nodeList;
  }

  /** A Kubernetes API client for the cluster's context. */
  kube(): Promise<KubeApi> {
    this.api ??= this.kind.kubeconfig(this.name).then((yaml) => KubeApi.open(yaml, this.contextName));
    return this.api;
  }

  /** Forgets the cached lookups, after a change made them stale. */
  forget(): void {
    this.clusters = undefined;
    this.nodeList = undefined;
    this.api = undefined;
  }
}
