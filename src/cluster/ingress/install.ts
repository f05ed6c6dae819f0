import type { KubernetesObject } from "@kubernetes/client-node";
import type { KubeApi } from "../kube.js";
import type { IngressManifest, ManifestObject } from "./manifest.js";

/**
 * Where `up` records what it installed: a ConfigMap beside CoreDNS's. It tells an ingress
 * dify-local installed from one someone else installed (kept as it is), and which digest is in
 * place, so a Job that ran and was removed after finishing (ttlSecondsAfterFinished) is not run again.
 */
export const INGRESS_RECORD = { namespace: "kube-system", name: "dify-local-ingress" } as const;

/** The record's data. */
export interface IngressRecord {
  manifest: string;
  sha256: string;
  className: string;
  /** The workloads to wait on and check, one "Kind namespace/name" a line. */
  workloads: string;
}

/** One object of a manifest in messages: "Deployment ingress-nginx/ingress-nginx-controller". */
export function describeObject(o: { kind?: string; metadata?: { name?: string; namespace?: string } }): string {
  const ns = o.metadata?.namespace;
  return `${o.kind ?? "?"} ${ns ? `${ns}/` : ""}${o.metadata?.name ?? "?"}`;
}

/** The workloads `up` waits for: the manifest's Deployments and Jobs. */
export function workloadsOf(objects: readonly ManifestObject[]): ManifestObject[] {
  return objects.filter((o) => o.kind === "Deployment" || o.kind === "Job");
}

export async function readRecord(kube: KubeApi): Promise<IngressRecord | undefined> {
  const cm = await kube.readConfigMap(INGRESS_RECORD.namespace, INGRESS_RECORD.name);
  const d = cm?.data;
  if (!d?.sha256) return undefined;
  return { manifest: d.manifest ?? "", sha256: d.sha256, className: d.className ?? "", workloads: d.workloads ?? "" };
}

export async function writeRecord(kube: KubeApi, record: IngressRecord): Promise<boolean> {
  return kube.applyConfigMap(INGRESS_RECORD.namespace, INGRESS_RECORD.name, { ...record });
}

/** The workloads a record names, as references to read. */
export function recordWorkloads(record: IngressRecord): ManifestObject[] {
  return record.workloads
    .split("\n")
    .map((line) => /^(Deployment|Job) (?:([^/\s]+)\/)?(\S+)$/.exec(line.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({
      apiVersion: m[1] === "Job" ? "batch/v1" : "apps/v1",
      kind: m[1] ?? "",
      metadata: { name: m[3] ?? "", ...(m[2] ? { namespace: m[2] } : {}) },
    }));
}

/** The IngressClass of that name in the cluster, when there is one. */
export async function installedClass(kube: KubeApi, name: string): Promise<{ name: string; controller: string } | undefined> {
  const cls = await kube.readObject<KubernetesObject & { spec?: { controller?: string } }>({
    apiVersion: "networking.k8s.io/v1",
    kind: "IngressClass",
    metadata: { name },
  });
  return cls ? { name, controller: cls.spec?.controller ?? "?" } : undefined;
}

function jobDone(job: KubernetesObject & { status?: { succeeded?: number } }): boolean {
  return (job.status?.succeeded ?? 0) > 0;
}

export interface ApplyOutcome {
  created: string[];
  configured: string[];
  unchanged: number;
  /** Jobs of the installed digest that ran and were removed after finishing: not run again. */
  skipped: string[];
}

/**
 * Applies every object of the manifest in order (namespaces before what lives in them) by
 * server-side apply, and says what changed: created (absent before), configured (its
 * resourceVersion moved) or unchanged (the API server changes nothing for an apply that matches).
 * A Job is a one-off: a finished one is left alone, and one the record's digest says already ran
 * (and its ttlSecondsAfterFinished removed) is not created again.
 */
export async function applyManifest(kube: KubeApi, manifest: IngressManifest, record?: IngressRecord): Promise<ApplyOutcome> {
  const out: ApplyOutcome = { created: [], configured: [], unchanged: 0, skipped: [] };
  for (const obj of manifest.objects) {
    const before = await kube.readObject(obj);
    if (obj.kind === "Job") {
      if (!before && record?.sha256 === manifest.digest) {
        out.skipped.push(describeObject(obj));
        continue;
      }
      if (before && jobDone(before)) {
        out.unchanged++;
        continue;
      }
    }
    const after = await kube.applyObject(obj);
    if (!before) out.created.push(describeObject(obj));
    else if (after.metadata?.resourceVersion !== before.metadata?.resourceVersion) out.configured.push(describeObject(obj));
    else out.unchanged++;
  }
  return out;
}
