import type { Config } from "../config/index.js";
import { OperationError, messageOf } from "../errors.js";
import type { LabelledContainer, Runtime } from "../runtime/index.js";
import { cacheDir } from "../util/index.js";
import { loadManifest, manifestSource, pinToIngressNode, type IngressManifest } from "./ingress/manifest.js";
import { Kind } from "./kind.js";
import { KubeApi } from "./kube.js";
import { KIND_LABELS } from "./wiring.js";

/**
 * Where `up` records, in the control-plane node's own file system, that dify-local created the
 * cluster: the record lives and dies with the cluster (kind's config cannot label node
 * containers), and Docker's archive API reads it even while the node is stopped. `down` deletes
 * only a cluster that has it.
 */
export const CREATED_MARKER = "/etc/dify-local/created-by-dify-local.json";

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
  private manifest: Promise<IngressManifest> | undefined;

  constructor(
    readonly config: Config,
    readonly runtime: Runtime,
    readonly kind: Kind = new Kind(),
    /** Where the ingress manifest is cached (`env`) and a relative manifest path starts (`cwd`). */
    private readonly place: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
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

  /**
   * The ingress controller's manifest (`cluster.ingress`), loaded once per command: read from its
   * file, or from the cache, or downloaded; checked against its sha256; its host-port workloads
   * pinned to the ingress node (see {@link pinToIngressNode}).
   */
  ingressManifest(): Promise<IngressManifest> {
    this.manifest ??= loadManifest(manifestSource(this.config, this.place.cwd), { cache: cacheDir(this.place.env) }).then((m) => ({
      ...m,
      objects: pinToIngressNode(m.objects),
    }));
    return this.manifest;
  }

  /** The control-plane node container, when the cluster has one. */
  async controlPlane(): Promise<LabelledContainer | undefined> {
    return (await this.nodes()).find((n) => n.labels[KIND_LABELS.role] === "control-plane");
  }

  /** Records that dify-local created this cluster (right after `kind create cluster`). */
  async markCreated(): Promise<void> {
    const node = await this.controlPlane();
    const record = `${JSON.stringify({ createdBy: "dify-local", cluster: this.name, createdAt: new Date().toISOString() })}\n`;
    try {
      if (!node) throw new Error("no control-plane node container found");
      await this.runtime.writeFile(node.id, CREATED_MARKER, record);
    } catch (err) {
      throw new OperationError(`created the kind cluster ${this.name} but could not record that dify-local made it: ${messageOf(err)}`, {
        hint: `\`dify-local down\` will treat it as someone else's and leave it; \`dify-local down --delete-cluster\` (or kind delete cluster --name ${this.name}) deletes it`,
        cause: err,
      });
    }
  }

  /** Whether dify-local created this cluster (see {@link CREATED_MARKER}); false for one made by someone else. */
  async createdByDifyLocal(): Promise<boolean> {
    const node = await this.controlPlane();
    if (!node) return false;
    const text = await this.runtime.readFile(node.id, CREATED_MARKER).catch(() => undefined);
    if (text === undefined) return false;
    try {
      const record = JSON.parse(text) as { createdBy?: unknown; cluster?: unknown };
      return record.createdBy === "dify-local" && record.cluster === this.name;
    } catch {
      return false;
    }
  }

  /** Forgets the cached lookups, after a change made them stale. */
  forget(): void {
    this.clusters = undefined;
    this.nodeList = undefined;
    this.api = undefined;
  }
}
