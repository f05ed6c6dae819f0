/**
 * The part of the Kubernetes API double (kube-api-double.ts) that installs a manifest: discovery
 * for the API groups of the kinds an ingress controller's manifest holds, server-side apply of
 * any of them, and the few controllers whose effects dify-local waits for. Small on purpose:
 *   GET /api/v1, /apis/{group}/{version}      APIResourceList (kind, resource, namespaced)
 *   PATCH .../{resource}/{name}               application/apply-patch+yaml only (needs fieldManager,
 *                                             as the apiserver does): creates the object or merges
 *                                             the applied fields into it; an apply that changes
 *                                             nothing keeps its resourceVersion (a no-op)
 *   GET .../{resource}/{name}, GET .../{resource} (list), GET .../namespaces/{ns}/pods?labelSelector=
 * - a Deployment becomes available on the second read after it is applied, a Job completes on its
 *   first read (and with ttlSecondsAfterFinished: 0 is removed right after, as the TTL controller
 *   does); their pods are listed with those states;
 * - an image in `unpullable` keeps its pods in ImagePullBackOff (with kubelet's message), its
 *   Deployment unavailable and its Job incomplete;
 * - a Deployment whose pods take host ports starts the controller's stand-in (Debian's nginx in
 *   the fake kind node, answering 404 like ingress-nginx's default server) in the node its
 *   nodeSelector picks: `ingress-ready: "true"` -> the control plane; otherwise a worker, as the
 *   scheduler may do (where no host port is mapped).
 * Objects applied here live in their own store; the double's ConfigMaps and Deployments (CoreDNS,
 * kube-public) stay where they are.
 */
import type { IncomingMessage } from "node:http";
import Docker from "dockerode";
import { parse } from "yaml";

interface Json {
  [key: string]: unknown;
}

/** kind, resource, namespaced: per group version, the kinds an ingress manifest holds (and pods). */
const DISCOVERY: Record<string, Array<[string, string, boolean]>> = {
  v1: [
    ["Namespace", "namespaces", false],
    ["ServiceAccount", "serviceaccounts", true],
    ["ConfigMap", "configmaps", true],
    ["Secret", "secrets", true],
    ["Service", "services", true],
    ["Pod", "pods", true],
    ["Node", "nodes", false],
  ],
  "apps/v1": [
    ["Deployment", "deployments", true],
    ["DaemonSet", "daemonsets", true],
  ],
  "batch/v1": [["Job", "jobs", true]],
  "rbac.authorization.k8s.io/v1": [
    ["Role", "roles", true],
    ["ClusterRole", "clusterroles", false],
    ["RoleBinding", "rolebindings", true],
    ["ClusterRoleBinding", "clusterrolebindings", false],
  ],
  "networking.k8s.io/v1": [
    ["IngressClass", "ingressclasses", false],
    ["Ingress", "ingresses", true],
  ],
  "admissionregistration.k8s.io/v1": [["ValidatingWebhookConfiguration", "validatingwebhookconfigurations", false]],
};

interface Target {
  groupVersion: string;
  resource: string;
  namespaced: boolean;
  kind: string;
  namespace: string | undefined;
  name: string | undefined;
}

/** The group version, resource, namespace and name a request path addresses; undefined for a path it is not. */
function target(path: string): Target | undefined {
  const m = /^\/(?:api\/(v1)|apis\/([^/]+\/[^/]+))(?:\/(.*))?$/.exec(path);
  if (!m) return undefined;
  const groupVersion = m[1] ?? m[2] ?? "";
  const parts = (m[3] ?? "").split("/").filter(Boolean);
  let namespace: string | undefined;
  if (parts[0] === "namespaces" && parts.length >= 3) {
    namespace = parts[1];
    parts.splice(0, 2);
  }
  const [resource, name] = parts;
  const known = DISCOVERY[groupVersion]?.find(([, r]) => r === resource);
  if (!resource || !known || parts.length > 2) return undefined;
  return { groupVersion, resource, namespaced: known[2], kind: known[0], namespace, name };
}

function status(code: number, reason: string, message: string): Json {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code };
}

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * A merge patch (RFC 7386): objects merge key by key, null deletes, anything else (lists too)
 * replaces. Also how the double applies fields (a server-side apply without list merge keys).
 */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const out: Json = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function podTemplate(obj: Json): { labels: Json; spec: Json } {
  const template = ((obj.spec as Json | undefined)?.template ?? {}) as Json;
  return { labels: ((template.metadata as Json | undefined)?.labels ?? {}) as Json, spec: (template.spec ?? {}) as Json };
}

function images(obj: Json): string[] {
  return ((podTemplate(obj).spec.containers ?? []) as Json[]).map((c) => String(c.image));
}

export class AppliedObjects {
  /** Image references the nodes cannot pull: their pods stay in ImagePullBackOff. */
  readonly unpullable = new Set<string>();
  /** Nodes in which the controller's stand-in was started. */
  readonly standInNodes: string[] = [];
  /** Applied objects by request path ("/apis/apps/v1/namespaces/x/deployments/y"). */
  readonly objects = new Map<string, Json>();
  private readonly reads = new Map<string, number>();
  private readonly docker = new Docker();

  constructor(
    private readonly cluster: string,
    private readonly nextVersion: () => string,
  ) {}

  /** Answers the request when it is this part's, else returns undefined (the double's own routes take it). */
  async handle(req: IncomingMessage, url: URL): Promise<{ code: number; body: unknown } | undefined> {
    const method = req.method ?? "GET";
    const groupVersion = /^\/(?:api\/(v1)|apis\/([^/]+\/[^/]+))$/.exec(url.pathname);
    if (method === "GET" && groupVersion) return { code: 200, body: this.resourceList(groupVersion[1] ?? groupVersion[2] ?? "") };
    const t = target(url.pathname);
    if (!t) return undefined;
    const contentType = (req.headers["content-type"] ?? "").split(";")[0]?.trim();
    if (method === "PATCH" && contentType === "application/apply-patch+yaml") return this.apply(req, url, t);
    if (method === "GET" && t.resource === "pods" && !t.name)
      return { code: 200, body: this.pods(t.namespace ?? "", url.searchParams.get("labelSelector") ?? "") };
    if (method === "GET" && !t.name && t.resource !== "configmaps" && t.resource !== "nodes")
      return { code: 200, body: this.list(url.pathname, t) };
    if (method === "GET" && t.name && this.objects.has(url.pathname)) return { code: 200, body: this.read(url.pathname) };
    if (method === "GET" && t.name && !["configmaps", "deployments"].includes(t.resource))
      return { code: 404, body: status(404, "NotFound", `${t.resource} "${t.name}" not found`) };
    return undefined;
  }

  private resourceList(groupVersion: string): Json {
    return {
      kind: "APIResourceList",
      apiVersion: "v1",
      groupVersion,
      resources: (DISCOVERY[groupVersion] ?? []).map(([kind, name, namespaced]) => ({
        name,
        singularName: kind.toLowerCase(),
        namespaced,
        kind,
        verbs: ["create", "delete", "get", "list", "patch", "update", "watch"],
      })),
    };
  }

  private async apply(req: IncomingMessage, url: URL, t: Target): Promise<{ code: number; body: unknown }> {
    if (!url.searchParams.get("fieldManager"))
      return { code: 400, body: status(400, "BadRequest", "PATCH requests with application/apply-patch+yaml require fieldManager") };
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const applied = parse(Buffer.concat(chunks).toString("utf8")) as Json;
    const meta = (applied.metadata ?? {}) as Json;
    if (applied.kind !== t.kind || meta.name !== t.name)
      return {
        code: 400,
        body: status(400, "BadRequest", `the body (${String(applied.kind)} ${String(meta.name)}) does not match the path`),
      };
    const current = this.objects.get(url.pathname);
    const { status: _status, ...currentSpec } = current ?? {};
    const merged = mergePatch(currentSpec, applied) as Json;
    const mergedMeta = merged.metadata as Json;
    if (t.namespaced) mergedMeta.namespace = t.namespace;
    if (current && JSON.stringify(merged) === JSON.stringify(currentSpec)) return { code: 200, body: current };
    const generation = ((current?.metadata as Json | undefined)?.generation as number | undefined) ?? 0;
    merged.metadata = {
      ...mergedMeta,
      resourceVersion: this.nextVersion(),
      generation: generation + 1,
      managedFields: [{ manager: url.searchParams.get("fieldManager"), operation: "Apply" }],
    };
    const stored: Json = { ...merged, ...(current?.status ? { status: current.status } : {}) };
    this.objects.set(url.pathname, stored);
    this.reads.set(url.pathname, 0);
    if (t.kind === "Deployment" && this.pullable(stored)) await this.startStandIn(stored);
    return { code: current ? 200 : 201, body: stored };
  }

  private pullable(obj: Json): boolean {
    return images(obj).every((i) => !this.unpullable.has(i));
  }

  /** A read moves the workload's controller on: Deployments available on the second read, Jobs complete on the first. */
  private read(path: string): Json {
    const obj = this.objects.get(path) as Json;
    const reads = (this.reads.get(path) ?? 0) + 1;
    this.reads.set(path, reads);
    const meta = obj.metadata as Json;
    const spec = (obj.spec ?? {}) as Json;
    if (obj.kind === "Deployment") {
      const n = (spec.replicas as number | undefined) ?? 1;
      const available = this.pullable(obj) && reads >= 2 ? n : 0;
      obj.status = {
        observedGeneration: meta.generation,
        replicas: n,
        updatedReplicas: n,
        readyReplicas: available,
        availableReplicas: available,
      };
    }
    if (obj.kind === "Job") {
      obj.status = this.pullable(obj) ? { succeeded: 1, conditions: [{ type: "Complete", status: "True" }] } : { active: 1 };
      // The TTL controller removes a finished Job with ttlSecondsAfterFinished: 0 right away.
      if (this.pullable(obj) && spec.ttlSecondsAfterFinished === 0) this.objects.delete(path);
    }
    return obj;
  }

  private list(path: string, t: Target): Json {
    const prefix = `${path}/`;
    const items = [...this.objects.entries()]
      .filter(([p]) => p.startsWith(prefix) && !p.slice(prefix.length).includes("/"))
      .map(([, o]) => o);
    return { kind: `${t.kind}List`, apiVersion: t.groupVersion, metadata: {}, items };
  }

  /** The pods of the applied Deployments and Jobs in a namespace that match a label selector. */
  pods(namespace: string, selector: string): Json {
    const wanted = selector
      .split(",")
      .filter(Boolean)
      .map((s) => s.split("="));
    const items: Json[] = [];
    for (const obj of this.objects.values()) {
      const meta = obj.metadata as Json;
      if (meta.namespace !== namespace || (obj.kind !== "Deployment" && obj.kind !== "Job")) continue;
      const { labels, spec } = podTemplate(obj);
      const podLabels: Json = { ...labels, ...(obj.kind === "Job" ? { "job-name": meta.name } : {}) };
      if (!wanted.every(([k, v]) => k !== undefined && podLabels[k] === v)) continue;
      items.push(this.pod(obj, podLabels, spec));
    }
    return { kind: "PodList", apiVersion: "v1", metadata: {}, items };
  }

  private pod(obj: Json, labels: Json, spec: Json): Json {
    const meta = obj.metadata as Json;
    const pullable = this.pullable(obj);
    const containerStatuses = ((spec.containers ?? []) as Json[]).map((c) => ({
      name: c.name,
      image: c.image,
      ready: pullable,
      state: pullable
        ? { running: { startedAt: new Date().toISOString() } }
        : { waiting: { reason: "ImagePullBackOff", message: `Back-off pulling image "${String(c.image)}"` } },
    }));
    return {
      metadata: { name: `${String(meta.name)}-7c9f4d8b5-x2x4q`, namespace: meta.namespace, labels },
      spec,
      status: {
        phase: pullable ? "Running" : "Pending",
        conditions: [{ type: "Ready", status: pullable ? "True" : "False" }],
        containerStatuses,
      },
    };
  }

  /**
   * The controller's pods run in one node: the control plane when the nodeSelector asks for
   * `ingress-ready: "true"` (the node kind maps ports 80 and 443 on), else the first worker, as the
   * scheduler may pick. There the stand-in nginx is started, as kubelet would start the pod.
   */
  private async startStandIn(deployment: Json): Promise<void> {
    const { spec } = podTemplate(deployment);
    const hostPorts = ((spec.containers ?? []) as Json[]).some((c) => ((c.ports ?? []) as Json[]).some((p) => p.hostPort !== undefined));
    if (!hostPorts) return;
    const nodes = await this.docker.listContainers({ filters: JSON.stringify({ label: [`io.x-k8s.kind.cluster=${this.cluster}`] }) });
    const role = (c: Docker.ContainerInfo) => c.Labels["io.x-k8s.kind.role"];
    const pinned = ((spec.nodeSelector ?? {}) as Json)["ingress-ready"] === "true";
    const node = pinned ? nodes.find((c) => role(c) === "control-plane") : (nodes.find((c) => role(c) === "worker") ?? nodes[0]);
    if (!node) throw new Error(`no running node of cluster ${this.cluster} to run the controller on`);
    const name = (node.Names[0] ?? "").replace(/^\//, "");
    if (this.standInNodes.includes(name)) return;
    const exec = await this.docker.getContainer(node.Id).exec({ Cmd: ["nginx"], AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: false });
    const output: Buffer[] = [];
    stream.on("data", (c: Buffer) => output.push(c));
    await new Promise<void>((r) => stream.on("end", () => r()));
    const { ExitCode } = await exec.inspect();
    if (ExitCode !== 0) throw new Error(`the controller's stand-in (nginx) did not start in ${name}: ${Buffer.concat(output).toString()}`);
    this.standInNodes.push(name);
  }
}
