/**
 * The part of the Kubernetes API double (kube-api-double.ts) that runs dify-local's probe Job in
 * an existing cluster (`cluster.context`). Small on purpose:
 *   POST   /apis/batch/v1/namespaces/{ns}/jobs          create (404 when the namespace does not
 *                                                       exist, 409 when the name does)
 *   GET    /apis/batch/v1/namespaces/{ns}/jobs[/{name}] read, list by labelSelector
 *   DELETE /apis/batch/v1/namespaces/{ns}/jobs/{name}   delete; its pods go only with
 *          propagationPolicy Background or Foreground (batch/v1's default orphans them, as the
 *          apiserver does)
 *   GET    /api/v1/namespaces/{ns}/pods?labelSelector=  the Jobs' pods (job-name label)
 *   GET    /api/v1/namespaces/{ns}/pods/{name}/log      the pod's output
 * A created Job gets one pod, which "runs" the container's command for real where it can: the
 * command must be dify-local's probe script (`sh -c PROBE_SCRIPT probe HOST PORT ...`; anything
 * else fails the pod, saying the double runs nothing else), and the double does what the script
 * does, from the test process: a TCP connection to each host and port (3 s timeout), one
 * `ok HOST PORT` / `failed HOST PORT` line each as the pod's log, then the pod Succeeded and the
 * Job Complete. An image in `unpullable` keeps the pod in ImagePullBackOff and the Job active.
 */
import { connect } from "node:net";
import type { IncomingMessage } from "node:http";
import { PROBE_SCRIPT } from "../../src/cluster/index.js";

interface Json {
  [key: string]: unknown;
}

/** The answer to a request: JSON, or plain text (a log). */
export interface Answer {
  code: number;
  body: unknown;
  text?: boolean;
}

function status(code: number, reason: string, message: string): Json {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code };
}

function matches(labels: Json, selector: string): boolean {
  return selector
    .split(",")
    .filter(Boolean)
    .every((s) => {
      const [k, v] = s.split("=");
      return k !== undefined && labels[k] === v;
    });
}

/** Whether a TCP connection to host:port opens within 3 s. */
function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 3000 });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.once("connect", () => done(true));
    socket.once("timeout", () => done(false));
    socket.once("error", () => done(false));
  });
}

export class ProbeJobs {
  /** Image references the nodes cannot pull: their pods stay in ImagePullBackOff. */
  readonly unpullable = new Set<string>();
  /** Jobs by "ns/name". */
  readonly jobs = new Map<string, Json>();
  /** Pods by "ns/name", with their log. */
  readonly pods = new Map<string, { pod: Json; log: string }>();
  /** Every Job created ("ns/name"), and every delete with its propagation policy. */
  readonly created: string[] = [];
  readonly deleted: Array<{ job: string; propagationPolicy: string }> = [];
  /** Runs in flight (so a test can wait for them before stopping the double). */
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly namespaceExists: (ns: string) => boolean,
    private readonly nextVersion: () => string,
  ) {}

  async handle(req: IncomingMessage, url: URL): Promise<Answer | undefined> {
    const method = req.method ?? "GET";
    const job = /^\/apis\/batch\/v1\/namespaces\/([^/]+)\/jobs(?:\/([^/]+))?$/.exec(url.pathname);
    if (job) return this.jobRequest(method, job[1] ?? "", job[2], req, url);
    const log = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/log$/.exec(url.pathname);
    if (log && method === "GET") {
      const entry = this.pods.get(`${log[1] ?? ""}/${log[2] ?? ""}`);
      return entry
        ? { code: 200, body: entry.log, text: true }
        : { code: 404, body: status(404, "NotFound", `pods "${log[2] ?? ""}" not found`) };
    }
    return undefined;
  }

  /** The Jobs' pods in a namespace matching a label selector. */
  podsOf(namespace: string, selector: string): Json[] {
    return [...this.pods.entries()]
      .filter(([key, { pod }]) => key.startsWith(`${namespace}/`) && matches((pod.metadata as Json).labels as Json, selector))
      .map(([, { pod }]) => pod);
  }

  /** Waits until every pod the double started has finished running. */
  async settled(): Promise<void> {
    await Promise.all([...this.running]);
  }

  private async jobRequest(method: string, ns: string, name: string | undefined, req: IncomingMessage, url: URL): Promise<Answer> {
    if (method === "POST" && !name) return this.create(ns, await readJson(req));
    if (method === "GET" && !name) {
      const selector = url.searchParams.get("labelSelector") ?? "";
      const items = [...this.jobs.entries()]
        .filter(([k, j]) => k.startsWith(`${ns}/`) && matches((j.metadata as Json).labels as Json, selector))
        .map(([, j]) => j);
      return { code: 200, body: { kind: "JobList", apiVersion: "batch/v1", metadata: {}, items } };
    }
    const key = `${ns}/${name ?? ""}`;
    const current = this.jobs.get(key);
    if (!current) return { code: 404, body: status(404, "NotFound", `jobs.batch "${name ?? ""}" not found`) };
    if (method === "GET") return { code: 200, body: current };
    if (method === "DELETE") {
      const body = (await readJson(req)) as Json;
      const propagationPolicy = url.searchParams.get("propagationPolicy") ?? (body.propagationPolicy as string | undefined) ?? "Orphan";
      this.jobs.delete(key);
      this.deleted.push({ job: key, propagationPolicy });
      if (propagationPolicy !== "Orphan")
        for (const [podKey, { pod }] of this.pods)
          if (((pod.metadata as Json).labels as Json)["job-name"] === name && podKey.startsWith(`${ns}/`)) this.pods.delete(podKey);
      return {
        code: 200,
        body: { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", details: { name, group: "batch", kind: "jobs" } },
      };
    }
    return { code: 405, body: status(405, "MethodNotAllowed", `the double does not serve ${method} on jobs`) };
  }

  private create(ns: string, body: unknown): Answer {
    if (!this.namespaceExists(ns)) return { code: 404, body: status(404, "NotFound", `namespaces "${ns}" not found`) };
    const job = structuredClone(body) as Json;
    const meta = (job.metadata ?? {}) as Json;
    const name = String(meta.name);
    const key = `${ns}/${name}`;
    if (this.jobs.has(key)) return { code: 409, body: status(409, "AlreadyExists", `jobs.batch "${name}" already exists`) };
    job.metadata = { ...meta, namespace: ns, uid: `uid-${name}`, resourceVersion: this.nextVersion() };
    job.status = { active: 1 };
    this.jobs.set(key, job);
    this.created.push(key);
    const template = ((job.spec as Json).template ?? {}) as Json;
    const spec = (template.spec ?? {}) as Json;
    const labels = {
      ...(((template.metadata as Json | undefined)?.labels ?? {}) as Json),
      "job-name": name,
      "batch.kubernetes.io/job-name": name,
    };
    const podName = `${name}-x7k2p`;
    const container = ((spec.containers ?? []) as Json[])[0] ?? {};
    const pod: Json = {
      metadata: { name: podName, namespace: ns, labels },
      spec,
      status: {
        phase: "Pending",
        containerStatuses: [
          { name: container.name, image: container.image, ready: false, state: { waiting: { reason: "ContainerCreating" } } },
        ],
      },
    };
    this.pods.set(`${ns}/${podName}`, { pod, log: "" });
    if (this.unpullable.has(String(container.image))) {
      (pod.status as Json).containerStatuses = [
        {
          name: container.name,
          image: container.image,
          ready: false,
          state: { waiting: { reason: "ImagePullBackOff", message: `Back-off pulling image "${String(container.image)}"` } },
        },
      ];
      return { code: 201, body: job };
    }
    const run = this.run(job, `${ns}/${podName}`, container).finally(() => this.running.delete(run));
    this.running.add(run);
    return { code: 201, body: job };
  }

  /** Runs the pod's command as far as the double can (see the file's comment), then finishes pod and Job. */
  private async run(job: Json, podKey: string, container: Json): Promise<void> {
    const command = (container.command ?? []) as string[];
    const probe = command[0] === "sh" && command[1] === "-c" && command[2] === PROBE_SCRIPT;
    let log = "";
    let exitCode = 0;
    if (probe) {
      const args = command.slice(4);
      for (let i = 0; i + 1 < args.length; i += 2) {
        const host = args[i] ?? "";
        const port = args[i + 1] ?? "";
        log += `${(await reachable(host, Number(port))) ? "ok" : "failed"} ${host} ${port}\n`;
      }
    } else {
      log = "the Kubernetes API double runs only dify-local's probe script\n";
      exitCode = 1;
    }
    const entry = this.pods.get(podKey);
    if (entry) {
      entry.log = log;
      entry.pod.status = {
        phase: exitCode === 0 ? "Succeeded" : "Failed",
        containerStatuses: [
          {
            name: container.name,
            image: container.image,
            ready: false,
            state: { terminated: { exitCode, reason: exitCode === 0 ? "Completed" : "Error" } },
          },
        ],
      };
    }
    job.status =
      exitCode === 0
        ? { succeeded: 1, conditions: [{ type: "Complete", status: "True" }] }
        : {
            failed: 1,
            conditions: [
              { type: "Failed", status: "True", reason: "BackoffLimitExceeded", message: "Job has reached the specified backoff limit" },
            ],
          };
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  return text ? JSON.parse(text) : {};
}
