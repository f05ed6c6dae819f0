/**
 * A small TEST DOUBLE of the Kubernetes API server (no API server can run on the test machines).
 * It serves only what dify-local calls, for the real @kubernetes/client-node:
 *   GET  /api/v1/nodes                                  nodes = the fake kind's node containers on
 *                                                       the real engine, Ready when running (a test
 *                                                       can hold some back with `notReady`)
 *   GET/POST/PUT /api/v1/namespaces/{ns}/configmaps[/{name}]   kube-public, kube-system, ...
 *   GET/PUT /apis/apps/v1/namespaces/{ns}/deployments/{name}   the CoreDNS deployment; a PUT that
 *                                                       changes the pod template bumps the generation
 *                                                       and the rollout completes
 * kube-system/coredns starts with kind's default Corefile. Every request is recorded.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import Docker from "dockerode";
import { KIND_DEFAULT_COREFILE } from "./corefile.js";

export { KIND_DEFAULT_COREFILE };

interface Json {
  [key: string]: unknown;
}

export class KubeApiDouble {
  readonly requests: Array<{ method: string; path: string }> = [];
  /** Node names reported NotReady although their container runs. */
  readonly notReady = new Set<string>();
  readonly configMaps = new Map<string, Json>();
  readonly deployments = new Map<string, Json>();
  /** How many times a deployment's pod template changed (rollout restarts). */
  readonly rollouts = new Map<string, number>();
  private server: Server | undefined;
  private readonly docker = new Docker();

  constructor(private readonly cluster: string) {
    this.configMaps.set("kube-system/coredns", { metadata: { name: "coredns", namespace: "kube-system", resourceVersion: "1" }, data: { Corefile: KIND_DEFAULT_COREFILE } });
    this.deployments.set("kube-system/coredns", {
      metadata: { name: "coredns", namespace: "kube-system", generation: 1 },
      spec: { replicas: 2, selector: { matchLabels: { "k8s-app": "kube-dns" } }, template: { metadata: { labels: { "k8s-app": "kube-dns" } }, spec: { containers: [{ name: "coredns", image: "registry.k8s.io/coredns/coredns:v1.11.1" }] } } },
      status: { observedGeneration: 1, replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 },
    });
  }

  /** Starts listening on a loopback port; returns the server URL for the kubeconfig. */
  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => send(res, 500, status(500, String(err))));
    });
    await new Promise<void>((r) => this.server?.listen(0, "127.0.0.1", r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://x");
    const method = req.method ?? "GET";
    this.requests.push({ method, path: url.pathname });
    const body = method === "POST" || method === "PUT" ? ((await readJson(req)) as Json) : undefined;
    let m: RegExpExecArray | null;

    if (method === "GET" && url.pathname === "/api/v1/nodes") return send(res, 200, await this.nodeList());

    if ((m = /^\/api\/v1\/namespaces\/([^/]+)\/configmaps(?:\/([^/]+))?$/.exec(url.pathname))) {
      const [, ns, name] = m;
      const key = `${ns}/${name ?? String((body?.metadata as Json | undefined)?.name)}`;
      if (method === "GET" && name) return this.configMaps.has(key) ? send(res, 200, this.configMaps.get(key)) : send(res, 404, status(404, `configmaps "${name}" not found`));
      if (method === "POST" && !name && body) {
        if (this.configMaps.has(key)) return send(res, 409, status(409, "already exists"));
        const created = { ...body, metadata: { ...(body.metadata as Json), namespace: ns, resourceVersion: "1" } };
        this.configMaps.set(key, created);
        return send(res, 201, created);
      }
      if (method === "PUT" && name && body) {
        if (!this.configMaps.has(key)) return send(res, 404, status(404, `configmaps "${name}" not found`));
        this.configMaps.set(key, body);
        return send(res, 200, body);
      }
    }

    if ((m = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/deployments\/([^/]+)$/.exec(url.pathname))) {
      const key = `${m[1]}/${m[2]}`;
      const current = this.deployments.get(key);
      if (!current) return send(res, 404, status(404, `deployments "${m[2]}" not found`));
      if (method === "GET") return send(res, 200, current);
      if (method === "PUT" && body) {
        const templateChanged = JSON.stringify((body.spec as Json).template) !== JSON.stringify((current.spec as Json).template);
        const generation = ((current.metadata as Json).generation as number) + (templateChanged ? 1 : 0);
        const replicas = ((body.spec as Json).replicas as number) ?? 1;
        const next = {
          ...body,
          metadata: { ...(body.metadata as Json), generation },
          // The rollout completes at once: all replicas updated and available.
          status: { observedGeneration: generation, replicas, updatedReplicas: replicas, readyReplicas: replicas, availableReplicas: replicas },
        };
        if (templateChanged) this.rollouts.set(key, (this.rollouts.get(key) ?? 0) + 1);
        this.deployments.set(key, next);
        return send(res, 200, next);
      }
    }
    send(res, 404, status(404, `the double does not serve ${method} ${url.pathname}`));
  }

  private async nodeList(): Promise<Json> {
    const containers = await this.docker.listContainers({ all: true, filters: JSON.stringify({ label: [`io.x-k8s.kind.cluster=${this.cluster}`] }) });
    return {
      kind: "NodeList",
      apiVersion: "v1",
      metadata: {},
      items: containers.map((c) => {
        const name = (c.Names[0] ?? "").replace(/^\//, "");
        const ready = c.State === "running" && !this.notReady.has(name);
        return {
          metadata: { name, labels: { "node-role.kubernetes.io/control-plane": c.Labels["io.x-k8s.kind.role"] === "control-plane" ? "" : undefined } },
          status: { conditions: [{ type: "Ready", status: ready ? "True" : "False", reason: ready ? "KubeletReady" : "KubeletNotReady" }] },
        };
      }),
    };
  }
}

function status(code: number, message: string): Json {
  return { kind: "Status", apiVersion: "v1", status: "Failure", message, code, reason: code === 404 ? "NotFound" : code === 409 ? "AlreadyExists" : "InternalError" };
}

function send(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  return text ? JSON.parse(text) : {};
}
