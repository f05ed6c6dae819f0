import type { KubernetesObject, V1ContainerStatus, V1Deployment, V1Job, V1Pod, V1PodCondition } from "@kubernetes/client-node";
import { OperationError } from "../../errors.js";
import { pollUntil } from "../../util/index.js";
import { rolloutMissing, type KubeApi, type ObjectRef } from "../kube.js";
import { describeObject } from "./install.js";

/** What one workload still lacks, in words; empty when it is done (a Job completed, a Deployment available). */
export async function workloadMissing(kube: KubeApi, ref: ObjectRef): Promise<string | undefined> {
  const obj = await kube.readObject<KubernetesObject>(ref);
  if (ref.kind === "Job") {
    // Gone: it finished and its ttlSecondsAfterFinished removed it (the manifest's admission Jobs say 0).
    if (!obj) return undefined;
    const job = obj as V1Job;
    const failed = job.status?.conditions?.find((c) => c.type === "Failed" && c.status === "True");
    if (failed) return `failed (${failed.reason ?? ""}${failed.message ? `: ${failed.message}` : ""})`;
    return (job.status?.succeeded ?? 0) > 0 ? undefined : "not completed yet";
  }
  if (!obj) return "does not exist";
  const d = obj as V1Deployment;
  const missing = rolloutMissing(d, d.metadata?.generation ?? 0);
  return missing.length ? missing.join(", ") : undefined;
}

/** The label selector of a workload's pods. */
async function podSelector(kube: KubeApi, ref: ObjectRef): Promise<string | undefined> {
  if (ref.kind === "Job") return `job-name=${ref.metadata.name}`;
  const d = await kube.readObject<V1Deployment>(ref);
  const labels = d?.spec?.selector?.matchLabels;
  return labels
    ? Object.entries(labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(",")
    : undefined;
}

/** A container that waits (not merely starting) or exited with an error, in words. */
function containerProblem(s: V1ContainerStatus): string | undefined {
  const w = s.state?.waiting;
  if (w?.reason && !["PodInitializing", "ContainerCreating"].includes(w.reason))
    return `${w.reason} (image ${s.image})${w.message ? `: ${w.message}` : ""}`;
  const t = s.state?.terminated;
  if (t && t.exitCode !== 0) return `container ${s.name} exited ${t.exitCode} (${t.reason ?? "Error"}, image ${s.image})`;
  return undefined;
}

function condition(pod: V1Pod, type: string, status: string): V1PodCondition | undefined {
  return pod.status?.conditions?.find((c) => c.type === type && c.status === status);
}

/**
 * Why a pod is not running and ready, in words: a container's waiting reason with its image and
 * message (ImagePullBackOff, CrashLoopBackOff), or why it is not scheduled; undefined when it is fine.
 */
export function podProblem(pod: V1Pod): string | undefined {
  const name = `pod ${pod.metadata?.namespace ?? ""}/${pod.metadata?.name ?? "?"}`;
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  const container = statuses.map(containerProblem).find((p) => p !== undefined);
  if (container) return `${name}: ${container}`;
  const unscheduled = condition(pod, "PodScheduled", "False");
  if (unscheduled) return `${name}: not scheduled (${[unscheduled.reason, unscheduled.message].filter(Boolean).join(": ")})`;
  if (pod.status?.phase === "Succeeded" || condition(pod, "Ready", "True")) return undefined;
  return `${name}: ${pod.status?.phase ?? "Pending"}, not ready`;
}

/** The workloads not done, each with the problems of its pods. */
export async function workloadProblems(kube: KubeApi, refs: readonly ObjectRef[]): Promise<string[]> {
  const out: string[] = [];
  for (const ref of refs) {
    const missing = await workloadMissing(kube, ref).catch((err: unknown) => `cannot be read (${String(err)})`);
    if (missing === undefined) continue;
    const selector = await podSelector(kube, ref).catch(() => undefined);
    const pods = selector && ref.metadata.namespace ? await kube.pods(ref.metadata.namespace, selector).catch(() => []) : [];
    const problems = pods.map(podProblem).filter((p): p is string => p !== undefined);
    out.push(`${describeObject(ref)}: ${missing}${problems.length ? `; ${problems.join("; ")}` : ""}`);
  }
  return out;
}

/**
 * Polls until every Job has completed and every Deployment is available. The timeout names each
 * workload still waiting and, for its pods, the reason and the image (ImagePullBackOff ...).
 */
export async function waitWorkloads(
  kube: KubeApi,
  refs: readonly ObjectRef[],
  timeoutSeconds: number,
  signal?: AbortSignal,
): Promise<void> {
  await pollUntil(
    async () => {
      for (const ref of refs) {
        const missing = await workloadMissing(kube, ref);
        if (missing?.startsWith("failed")) throw new OperationError(`ingress: ${(await workloadProblems(kube, [ref])).join("; ")}`);
        if (missing !== undefined) return undefined;
      }
      return true;
    },
    {
      initialMs: 200,
      timeoutMs: timeoutSeconds * 1000,
      signal,
      onTimeout: async () => {
        const problems = await workloadProblems(kube, refs);
        const pull = problems.some((p) => /ImagePull|ErrImage/.test(p));
        return new OperationError(`ingress controller not ready after ${timeoutSeconds}s: ${problems.join("; ") || "still starting"}`, {
          hint: pull
            ? "the nodes cannot pull that image: check their network (cluster.proxy for a proxy), then run `dify-local up` again"
            : "kubectl get pods -A --context kind-<name>; raise cluster.readyTimeout on a slow machine",
        });
      },
    },
  );
}
