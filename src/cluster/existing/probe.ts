import { randomBytes } from "node:crypto";
import type { V1Job, V1Pod } from "@kubernetes/client-node";
import { messageOf } from "../../errors.js";
import { pollUntil } from "../../util/index.js";
import { podProblem } from "../ingress/wait.js";
import type { KubeApi } from "../kube.js";

/** One address the cluster is given for a service, which the probe opens a TCP connection to. */
export interface ProbeTarget {
  /** The service (its config key). */
  service: string;
  /** What it is ("PostgreSQL", "S3 API"). */
  label: string;
  host: string;
  port: number;
}

/** Labels of every probe Job and its pod: `down --purge` finds leftovers (an interrupted verify) by them. */
export const PROBE_LABELS = { "app.kubernetes.io/managed-by": "dify-local", "app.kubernetes.io/component": "probe" } as const;

/** The probe Jobs' label selector. */
export const PROBE_SELECTOR = Object.entries(PROBE_LABELS)
  .map(([k, v]) => `${k}=${v}`)
  .join(",");

/**
 * The probe container's script (busybox sh): its arguments are host/port pairs; one line per pair,
 * `ok HOST PORT` or `failed HOST PORT`, from a TCP connection with a 3 s timeout (busybox `nc -z`).
 * It always exits 0: the lines carry the results, a failed Job means the probe itself did not run.
 */
export const PROBE_SCRIPT = [
  'while [ "$#" -ge 2 ]; do',
  '  if nc -z -w 3 "$1" "$2" </dev/null >/dev/null 2>&1; then echo "ok $1 $2"; else echo "failed $1 $2"; fi',
  "  shift 2",
  "done",
].join("\n");

/** The address of an endpoint string (`postgresql://u@h:5432`, `http://h:9000`, `h:6334`, `https://s3.amazonaws.com`). */
export function endpointAddress(endpoint: string): { host: string; port: number } | undefined {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint) ? endpoint : `tcp://${endpoint}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    return undefined;
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const defaults: Record<string, number> = { "http:": 80, "https:": 443 };
  const port = url.port ? Number(url.port) : defaults[url.protocol];
  return host && port ? { host, port } : undefined;
}

/** The probe Job: one pod, never restarted, bounded by `deadlineSeconds`, unprivileged (a restricted namespace admits it). */
export function probeJob(name: string, namespace: string, image: string, targets: readonly ProbeTarget[], deadlineSeconds: number): V1Job {
  const pairs = uniqueAddresses(targets).flatMap((t) => [t.host, String(t.port)]);
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, namespace, labels: { ...PROBE_LABELS } },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: deadlineSeconds,
      // A safety net only: dify-local deletes the Job itself, also on failure.
      ttlSecondsAfterFinished: 600,
      template: {
        metadata: { labels: { ...PROBE_LABELS } },
        spec: {
          restartPolicy: "Never",
          automountServiceAccountToken: false,
          securityContext: { runAsNonRoot: true, runAsUser: 65534, runAsGroup: 65534, seccompProfile: { type: "RuntimeDefault" } },
          containers: [
            {
              name: "probe",
              image,
              command: ["sh", "-c", PROBE_SCRIPT, "probe", ...pairs],
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
              resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "100m", memory: "32Mi" } },
            },
          ],
        },
      },
    },
  };
}

function uniqueAddresses(targets: readonly ProbeTarget[]): Array<{ host: string; port: number }> {
  const seen = new Map<string, { host: string; port: number }>();
  for (const t of targets) seen.set(`${t.host} ${t.port}`, { host: t.host, port: t.port });
  return [...seen.values()];
}

/** The probe's answer for each target, from its log: true (ok), false (failed), or undefined (no line for it). */
export function parseProbeLog(log: string, targets: readonly ProbeTarget[]): Array<boolean | undefined> {
  const lines = new Map<string, boolean>();
  for (const m of log.matchAll(/^(ok|failed) (\S+) (\d+)$/gm)) lines.set(`${m[2] ?? ""} ${m[3] ?? ""}`, m[1] === "ok");
  return targets.map((t) => lines.get(`${t.host} ${t.port}`));
}

/** What a probe run found: per target its answer, or the reason the probe itself did not run. */
export interface ProbeOutcome {
  job: string;
  /** Per target (in order): true, false, or undefined when the probe gave no answer for it. */
  reached: Array<boolean | undefined>;
  /** Why the probe did not finish (a timeout with the pod's state, a failed Job), when it did not. */
  problem?: string;
  /** Whether the Job (and its pods) were deleted afterwards. */
  deleted: boolean;
  /** Why deleting it failed, when it did. */
  cleanup?: string;
}

export interface ProbeOptions {
  namespace: string;
  image: string;
  timeoutSeconds: number;
  signal?: AbortSignal | undefined;
}

/**
 * Runs the probe Job in the namespace: creates it, waits (bounded) for it to finish, reads its
 * pod's log, and deletes the Job with its pods on every way out (done, failed, timed out,
 * interrupted).
 */
export async function runProbe(kube: KubeApi, targets: readonly ProbeTarget[], options: ProbeOptions): Promise<ProbeOutcome> {
  const { namespace } = options;
  const job = `dify-local-probe-${randomBytes(4).toString("hex")}`;
  await kube.createJob(namespace, probeJob(job, namespace, options.image, targets, options.timeoutSeconds));
  // The Job goes on every way out: a delete that fails is reported, never thrown over the outcome.
  const remove = (): Promise<string | undefined> =>
    kube.deleteJob(namespace, job).then(
      () => undefined,
      (err: unknown) => messageOf(err),
    );
  let outcome: Omit<ProbeOutcome, "deleted">;
  try {
    outcome = await finishedProbe(kube, job, targets, options);
  } catch (err) {
    await remove();
    throw err;
  }
  const cleanup = await remove();
  return { ...outcome, deleted: cleanup === undefined, ...(cleanup ? { cleanup } : {}) };
}

async function finishedProbe(
  kube: KubeApi,
  job: string,
  targets: readonly ProbeTarget[],
  options: ProbeOptions,
): Promise<Omit<ProbeOutcome, "deleted">> {
  const { namespace } = options;
  const none = targets.map(() => undefined);
  const pods = (): Promise<V1Pod[]> => kube.pods(namespace, `job-name=${job}`);
  const state = await pollUntil(
    async () => {
      const j = await kube.readJob(namespace, job);
      if ((j?.status?.succeeded ?? 0) > 0) return "done" as const;
      const failed = j?.status?.conditions?.find((c) => c.type === "Failed" && c.status === "True");
      if (failed || (j?.status?.failed ?? 0) > 0)
        return `failed${failed?.reason ? ` (${failed.reason}${failed.message ? `: ${failed.message}` : ""})` : ""}`;
      return undefined;
    },
    { initialMs: 200, timeoutMs: options.timeoutSeconds * 1000, signal: options.signal, onTimeout: () => new ProbeTimeout() },
  ).catch(async (err: unknown) => {
    if (!(err instanceof ProbeTimeout)) throw err;
    const problems = (await pods().catch(() => [])).map(podProblem).filter((p): p is string => p !== undefined);
    return `did not finish within ${options.timeoutSeconds}s${problems.length ? `: ${problems.join("; ")}` : ""}`;
  });
  const pod = (await pods())[0];
  const log = pod?.metadata?.name ? await kube.podLog(namespace, pod.metadata.name).catch(() => "") : "";
  if (state === "done") return { job, reached: parseProbeLog(log, targets) };
  return { job, reached: log ? parseProbeLog(log, targets) : none, problem: `probe Job ${namespace}/${job} ${state}` };
}

class ProbeTimeout extends Error {}
