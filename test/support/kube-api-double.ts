/**
 * A small TEST DOUBLE of the Kubernetes API server (no API server can run on the test machines).
 * It serves only what dify-local calls, for the real @kubernetes/client-node, and behaves like an
 * apiserver where the code depends on it:
 *   GET  /api/v1/nodes                       nodes = the fake kind's node containers on the real
 *                                            engine, Ready when running; a node can be held
 *                                            NotReady (`notReady`), turn Ready after some polls
 *                                            (`readyAfterPolls`) or register late or never
 *                                            (`registersAfterPolls`, Infinity = never)
 *   GET/POST/PUT/PATCH /api/v1/namespaces/{ns}/configmaps[/{name}]
 *   GET/PUT/PATCH /apis/apps/v1/namespaces/{ns}/deployments/{name}
 *   GET  /apis/apps/v1/deployments           every deployment as stored (no rollout phases, no selectors)
 *   batch/v1 Jobs, their pods and logs       kube-api-jobs.ts (`jobs`): the probe Job of an existing cluster
 * - a change of a deployment's spec.replicas (a scale) shows in its status at once;
 * - every write gives the object a new metadata.resourceVersion; a PUT (or a patch) carrying a
 *   stale one gets 409 Conflict with the apiserver's Status body; a POST of an existing name gets
 *   409 AlreadyExists; `conflictOnce` makes another writer change an object right after the next
 *   read of it, to provoke the conflict;
 * - PATCH takes application/merge-patch+json and application/strategic-merge-patch+json (the
 *   latter only without lists: the double does not know the merge keys, and says so with a 500);
 *   JSON Patch with an object body gets the apiserver's 400; server-side apply
 *   (application/apply-patch+yaml) is kube-api-apply.ts's; other media types 415;
 * - a change of a deployment's pod template bumps metadata.generation and starts a rollout that
 *   moves one phase per read of the deployment (`rolloutReadsPerPhase` reads each): the new
 *   generation not observed yet ("pending"), observed with the new replicas created and the old
 *   ones still running ("updated"), old ones gone and the new ones ready but not available yet
 *   ("ready"), then "available"; `rolloutStallsAt` keeps it in one phase forever.
 * kube-system/coredns (ConfigMap and Deployment) starts as in a new kind cluster. Every request is
 * recorded with its answer's status code. Discovery, server-side apply of a manifest and the
 * workloads it makes are in kube-api-apply.ts (`applied`).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import Docker from "dockerode";
import { AppliedObjects, mergePatch } from "./kube-api-apply.js";
import { ProbeJobs } from "./kube-api-jobs.js";
import { KIND_DEFAULT_COREFILE } from "./corefile.js";

export { KIND_DEFAULT_COREFILE };

interface Json {
  [key: string]: unknown;
}

type Resource = "configmaps" | "deployments";
type RolloutPhase = "pending" | "updated" | "ready" | "available";
const PHASES: RolloutPhase[] = ["pending", "updated", "ready", "available"];

/** The apiserver's name for a resource in messages ("deployments.apps"). */
const QUALIFIED: Record<Resource, string> = { configmaps: "configmaps", deployments: "deployments.apps" };

class HttpError extends Error {
  constructor(
    readonly code: number,
    readonly body: Json,
  ) {
    super(String(body.message));
  }
}

export class KubeApiDouble {
  readonly requests: Array<{ method: string; path: string; status: number; contentType?: string }> = [];
  /** Node names reported NotReady although their container runs. */
  readonly notReady = new Set<string>();
  /** Node name -> how many more node lists report it NotReady before it turns Ready. */
  readonly readyAfterPolls = new Map<string, number>();
  /** Node name -> how many more node lists leave it out (a kubelet registering late); Infinity: never. */
  readonly registersAfterPolls = new Map<string, number>();
  /** Reads of a deployment each rollout phase lasts. */
  rolloutReadsPerPhase = 1;
  /** A phase a rollout never leaves (a stuck rollout), or undefined. */
  rolloutStallsAt: RolloutPhase | undefined;
  readonly configMaps = new Map<string, Json>();
  readonly deployments = new Map<string, Json>();
  /** How many times a deployment's pod template changed (rollout restarts). */
  readonly rollouts = new Map<string, number>();
  private readonly rolloutState = new Map<string, { generation: number; previous: number; reads: number }>();
  private readonly interference = new Map<string, (obj: Json) => void>();
  private revision = 100;
  private server: Server | undefined;
  private readonly docker = new Docker();
  /** What server-side apply made (an ingress controller's manifest, a namespace), and its workloads. */
  readonly applied: AppliedObjects;
  /** Jobs created through batch/v1 (dify-local's probe in an existing cluster), their pods and logs. */
  readonly jobs: ProbeJobs;

  constructor(private readonly cluster: string) {
    this.applied = new AppliedObjects(cluster, () => this.nextVersion());
    this.jobs = new ProbeJobs(
      (ns) => ["default", "kube-system", "kube-public"].includes(ns) || this.applied.objects.has(`/api/v1/namespaces/${ns}`),
      () => this.nextVersion(),
    );
    this.configMaps.set("kube-system/coredns", {
      metadata: { name: "coredns", namespace: "kube-system", resourceVersion: this.nextVersion() },
      data: { Corefile: KIND_DEFAULT_COREFILE },
    });
    this.deployments.set("kube-system/coredns", {
      metadata: { name: "coredns", namespace: "kube-system", generation: 1, resourceVersion: this.nextVersion() },
      spec: {
        replicas: 2,
        selector: { matchLabels: { "k8s-app": "kube-dns" } },
        template: {
          metadata: { labels: { "k8s-app": "kube-dns" } },
          spec: { containers: [{ name: "coredns", image: "registry.k8s.io/coredns/coredns:v1.11.1" }] },
        },
      },
      status: { observedGeneration: 1, replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 },
    });
  }

  /**
   * Another client writes `namespace/name` right after the next read of it: `change` edits the
   * stored object, which gets a new resourceVersion, so a write based on that read is stale.
   */
  conflictOnce(resource: Resource, key: string, change: (obj: { [key: string]: unknown }) => void = () => undefined): void {
    this.interference.set(`${resource}/${key}`, change);
  }

  /** Starts listening on a loopback port; returns the server URL for the kubeconfig. */
  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://x");
      const entry = {
        method: req.method ?? "GET",
        path: url.pathname,
        status: 0,
        ...(req.headers["content-type"] ? { contentType: req.headers["content-type"] } : {}),
      };
      this.requests.push(entry);
      const reply = (code: number, body: unknown, text = false) => {
        entry.status = code;
        send(res, code, body, text);
      };
      this.handle(req, url, reply).catch((err: unknown) =>
        err instanceof HttpError ? reply(err.code, err.body) : reply(500, status(500, "InternalError", String(err))),
      );
    });
    await new Promise<void>((r) => this.server?.listen(0, "127.0.0.1", r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private nextVersion(): string {
    return String(++this.revision);
  }

  private async handle(req: IncomingMessage, url: URL, reply: (code: number, body: unknown, text?: boolean) => void): Promise<void> {
    const method = req.method ?? "GET";
    if (method === "GET" && url.pathname === "/api/v1/nodes") return reply(200, await this.nodeList());
    if (method === "GET" && url.pathname === "/apis/apps/v1/deployments")
      return reply(200, {
        apiVersion: "apps/v1",
        kind: "DeploymentList",
        metadata: { resourceVersion: String(this.revision) },
        items: [...this.deployments.values()],
      });
    const job = await this.jobs.handle(req, url);
    if (job) return reply(job.code, job.body, job.text);
    const pods = /^\/api\/v1\/namespaces\/([^/]+)\/pods$/.exec(url.pathname);
    if (method === "GET" && pods) {
      const [ns, selector] = [pods[1] ?? "", url.searchParams.get("labelSelector") ?? ""];
      const list = this.applied.pods(ns, selector);
      return reply(200, { ...list, items: [...(list.items as Json[]), ...this.jobs.podsOf(ns, selector)] });
    }
    const applied = await this.applied.handle(req, url);
    if (applied) return reply(applied.code, applied.body);
    let m: RegExpExecArray | null;
    let resource: Resource | undefined;
    let ns = "";
    let name: string | undefined;
    if ((m = /^\/api\/v1\/namespaces\/([^/]+)\/configmaps(?:\/([^/]+))?$/.exec(url.pathname)))
      [resource, ns, name] = ["configmaps", m[1] ?? "", m[2]];
    else if ((m = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/deployments\/([^/]+)$/.exec(url.pathname)))
      [resource, ns, name] = ["deployments", m[1] ?? "", m[2]];
    if (!resource) return reply(404, status(404, "NotFound", `the double does not serve ${method} ${url.pathname}`));
    const store = resource === "configmaps" ? this.configMaps : this.deployments;
    const body = ["POST", "PUT", "PATCH"].includes(method) ? await readJson(req) : undefined;

    if (method === "POST" && !name && resource === "configmaps") {
      const created = body as Json;
      const key = `${ns}/${String((created.metadata as Json | undefined)?.name)}`;
      if (store.has(key))
        throw new HttpError(
          409,
          status(409, "AlreadyExists", `${QUALIFIED[resource]} "${key.split("/")[1]}" already exists`, resource, key),
        );
      const obj = { ...created, metadata: { ...(created.metadata as Json), namespace: ns, resourceVersion: this.nextVersion() } };
      store.set(key, obj);
      return reply(201, obj);
    }
    if (!name) return reply(405, status(405, "MethodNotAllowed", `the double does not serve ${method} ${url.pathname}`));
    const key = `${ns}/${name}`;
    const current = store.get(key);
    if (!current) throw new HttpError(404, status(404, "NotFound", `${QUALIFIED[resource]} "${name}" not found`, resource, key));

    if (method === "GET") {
      const answer = resource === "deployments" ? this.observeRollout(key, current) : current;
      reply(200, answer);
      const change = this.interference.get(`${resource}/${key}`);
      if (change) {
        this.interference.delete(`${resource}/${key}`);
        const changed = structuredClone(current);
        change(changed);
        this.write(resource, key, current, changed);
      }
      return;
    }
    if (method === "PUT") {
      const next = body as Json;
      this.precondition(resource, key, current, next);
      return reply(200, this.write(resource, key, current, next));
    }
    if (method === "PATCH") {
      const next = applyPatch(req.headers["content-type"] ?? "", current, body);
      this.precondition(resource, key, current, next);
      return reply(200, this.write(resource, key, current, next));
    }
    reply(405, status(405, "MethodNotAllowed", `the double does not serve ${method} ${url.pathname}`));
  }

  /** A resourceVersion in the request must be the current one (optimistic concurrency). */
  private precondition(resource: Resource, key: string, current: Json, next: Json): void {
    const given = (next.metadata as Json | undefined)?.resourceVersion;
    if (given !== undefined && given !== (current.metadata as Json).resourceVersion) {
      throw new HttpError(
        409,
        status(
          409,
          "Conflict",
          `Operation cannot be fulfilled on ${QUALIFIED[resource]} "${key.split("/")[1]}": the object has been modified; please apply your changes to the latest version and try again`,
          resource,
          key,
        ),
      );
    }
  }

  /** Stores a new version of an object; a deployment whose pod template changed starts a rollout. */
  private write(resource: Resource, key: string, current: Json, next: Json): Json {
    const metadata: Json = { ...(current.metadata as Json), ...(next.metadata as Json), resourceVersion: this.nextVersion() };
    const stored: Json = { ...next, metadata };
    if (resource === "deployments") {
      const before = (current.spec as Json).template;
      const after = (next.spec as Json | undefined)?.template;
      const generation = (current.metadata as Json).generation as number;
      metadata.generation = generation;
      stored.status = current.status;
      const replicas = (next.spec as Json | undefined)?.replicas;
      // A scale takes effect at once here: the pods come and go before the next read.
      if (typeof replicas === "number" && replicas !== (current.spec as Json).replicas)
        stored.status = { ...(current.status as Json), replicas, readyReplicas: replicas, availableReplicas: replicas };
      if (JSON.stringify(before) !== JSON.stringify(after)) {
        metadata.generation = generation + 1;
        this.rollouts.set(key, (this.rollouts.get(key) ?? 0) + 1);
        const status = current.status as Json;
        this.rolloutState.set(key, { generation: generation + 1, previous: status.observedGeneration as number, reads: 0 });
      }
    }
    (resource === "configmaps" ? this.configMaps : this.deployments).set(key, stored);
    return stored;
  }

  /** The deployment as the controller has progressed it by this read (one phase per `rolloutReadsPerPhase` reads). */
  private observeRollout(key: string, d: Json): Json {
    const state = this.rolloutState.get(key);
    if (!state) return d;
    state.reads++;
    let phase = PHASES[Math.min(Math.floor((state.reads - 1) / this.rolloutReadsPerPhase), PHASES.length - 1)] ?? "available";
    if (this.rolloutStallsAt && PHASES.indexOf(phase) > PHASES.indexOf(this.rolloutStallsAt)) phase = this.rolloutStallsAt;
    const n = ((d.spec as Json).replicas as number | undefined) ?? 1;
    const byPhase: Record<RolloutPhase, Json> = {
      pending: { observedGeneration: state.previous, replicas: n, updatedReplicas: n, readyReplicas: n, availableReplicas: n },
      updated: {
        observedGeneration: state.generation,
        replicas: 2 * n,
        updatedReplicas: n,
        readyReplicas: n,
        availableReplicas: n,
        unavailableReplicas: n,
      },
      ready: {
        observedGeneration: state.generation,
        replicas: n,
        updatedReplicas: n,
        readyReplicas: n,
        availableReplicas: 0,
        unavailableReplicas: n,
      },
      available: { observedGeneration: state.generation, replicas: n, updatedReplicas: n, readyReplicas: n, availableReplicas: n },
    };
    d.status = byPhase[phase];
    if (phase === "available") this.rolloutState.delete(key);
    return d;
  }

  private async nodeList(): Promise<Json> {
    const containers = await this.docker.listContainers({
      all: true,
      filters: JSON.stringify({ label: [`io.x-k8s.kind.cluster=${this.cluster}`] }),
    });
    const items: Json[] = [];
    for (const c of containers) {
      const name = (c.Names[0] ?? "").replace(/^\//, "");
      const unregistered = this.registersAfterPolls.get(name) ?? 0;
      if (unregistered > 0) {
        this.registersAfterPolls.set(name, unregistered - 1);
        continue;
      }
      const notYet = this.readyAfterPolls.get(name) ?? 0;
      if (notYet > 0) this.readyAfterPolls.set(name, notYet - 1);
      const ready = c.State === "running" && !this.notReady.has(name) && notYet === 0;
      items.push({
        metadata: {
          name,
          labels: { "node-role.kubernetes.io/control-plane": c.Labels["io.x-k8s.kind.role"] === "control-plane" ? "" : undefined },
        },
        status: { conditions: [{ type: "Ready", status: ready ? "True" : "False", reason: ready ? "KubeletReady" : "KubeletNotReady" }] },
      });
    }
    return { kind: "NodeList", apiVersion: "v1", metadata: { resourceVersion: String(this.revision) }, items };
  }
}

function containsList(v: unknown): boolean {
  return Array.isArray(v) || (isObject(v) && Object.values(v).some(containsList));
}

function applyPatch(contentType: string, current: Json, patch: unknown): Json {
  const type = contentType.split(";")[0]?.trim();
  if (type === "application/merge-patch+json") return mergePatch(current, patch) as Json;
  if (type === "application/strategic-merge-patch+json") {
    // For maps a strategic merge is a merge patch; lists merge by keys the double does not know.
    if (containsList(patch))
      throw new HttpError(500, status(500, "InternalError", "the double does not implement strategic merge of lists"));
    return mergePatch(current, patch) as Json;
  }
  if (type === "application/json-patch+json") {
    if (!Array.isArray(patch))
      throw new HttpError(
        400,
        status(400, "BadRequest", "error decoding patch: json: cannot unmarshal object into Go value of type []handlers.jsonPatchOp"),
      );
    throw new HttpError(500, status(500, "InternalError", "the double does not implement JSON Patch"));
  }
  throw new HttpError(
    415,
    status(
      415,
      "UnsupportedMediaType",
      `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`,
    ),
  );
}

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The apiserver's Status body for a failure. */
function status(code: number, reason: string, message: string, resource?: Resource, key?: string): Json {
  const details =
    resource && key
      ? { details: { name: key.split("/")[1], ...(resource === "deployments" ? { group: "apps" } : {}), kind: resource } }
      : {};
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, ...details, code };
}

function send(res: ServerResponse, code: number, body: unknown, text = false): void {
  res.writeHead(code, { "content-type": text ? "text/plain" : "application/json" });
  res.end(text ? String(body) : JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  return text ? JSON.parse(text) : {};
}
