import { ingressState, type Cluster } from "../cluster/index.js";
import { messageOf } from "../errors.js";
import type { DoctorFacts, Finding } from "./types.js";

/** The ingress as the doctor sees it (with the cluster present). */
export interface IngressFacts {
  controller: "nginx" | "none";
  className: string;
  /** Every IngressClass in the cluster; undefined when the API could not be asked. */
  classes: string[] | undefined;
  /** Whether dify-local installed the configured class (its record is there). */
  ours: boolean;
  error?: string;
}

export async function gatherIngressFacts(cluster: Cluster): Promise<IngressFacts> {
  const { controller, className } = cluster.config.cluster.ingress;
  try {
    const kube = await cluster.kube();
    const [classes, state] = await Promise.all([kube.names("networking.k8s.io/v1", "IngressClass"), ingressState(kube, className)]);
    return { controller, className, classes, ours: state.record !== undefined };
  } catch (err) {
    return { controller, className, classes: undefined, ours: false, error: messageOf(err) };
  }
}

/** Why each failing ingress check matters, for the doctor's findings. */
const WHY: Record<string, string> = {
  "cluster.ingress.installed":
    "without an ingress controller nothing serves the Ingress objects the Dify chart creates: http://console.dify.local gets no answer",
  "cluster.ingress.ready":
    "the controller's pods are not running: the reasons above come from the pods (an image the nodes cannot pull, a pod that cannot be scheduled)",
  "cluster.ingress.answers":
    "the browser reaches Dify through the control plane's port 80: if nothing answers there (or something else does), console.dify.local does not load",
};

/** The failing ingress checks (from the cluster's findings) with their reason. */
export function explainIngress(finding: Finding): Finding {
  const why = WHY[finding.id];
  return why && finding.severity !== "ok" ? { ...finding, why } : finding;
}

function valuesClass(data: unknown): string | undefined {
  const ingress = data && typeof data === "object" ? (data as Record<string, unknown>).ingress : undefined;
  const name = ingress && typeof ingress === "object" ? (ingress as Record<string, unknown>).className : undefined;
  return typeof name === "string" ? name : undefined;
}

function portFinding(f: DoctorFacts): Finding[] {
  const taken = f.ports.filter((p) => p.service === "cluster" && p.status === "taken");
  return taken.map((p) => ({
    id: `ingress.${p.key}`,
    severity: "error" as const,
    what: `port ${p.hostIp}:${p.port} (${p.key}) is held by ${p.holder ?? "another process"}, not by the ingress controller's node`,
    why:
      "another web server on this machine (Apache, nginx, Caddy, a dev server" +
      `${f.platform === "darwin" ? "; on macOS also AirPlay Receiver or the built-in Apache" : ""}) takes the port kind maps to the ingress, so the browser reaches it instead`,
    fix: `stop ${p.holder ?? "it"}, or set ${p.key} to a free port in dify-local.yaml (kind maps ports when it creates the cluster: dify-local down, then up)`,
  }));
}

/**
 * The ingress: `controller: none` without any class of that name; the class values.yaml names
 * against the classes the cluster has; a web server holding the ingress port.
 */
export function ingressRule(f: DoctorFacts): Finding[] {
  const i = f.ingress;
  if (!i) return [];
  const out: Finding[] = [];
  const has = (name: string) => i.classes?.includes(name) ?? false;
  if (i.controller === "none" && i.classes) {
    out.push(
      has(i.className)
        ? {
            id: "ingress.class",
            severity: "ok",
            what: `IngressClass ${i.className} is installed (your controller; cluster.ingress.controller: none)`,
          }
        : {
            id: "ingress.class",
            severity: "warning",
            what: `cluster.ingress.controller is none and the cluster has no IngressClass ${i.className}`,
            why: "dify-local installs no controller then: Dify's Ingress objects stay unserved until you install one",
            fix: `install your controller with IngressClass ${i.className}, or set cluster.ingress.controller: nginx and run \`dify-local up\``,
          },
    );
  }
  const wanted = f.values ? valuesClass(f.values.data) : undefined;
  if (wanted !== undefined && i.classes && !has(wanted)) {
    out.push({
      id: "values.ingress.className",
      severity: "error",
      what: `${f.values?.file ?? "values.yaml"} sets ingress.className: ${wanted}, but the cluster has ${i.classes.length ? `IngressClass ${i.classes.join(", ")}` : "no IngressClass"}`,
      why: `the chart's Ingress objects name class ${wanted}: no controller serves them, so console.dify.local is never routed to Dify`,
      fix: `set ingress.className: ${has(i.className) ? i.className : (i.classes[0] ?? i.className)} in ${f.values?.file ?? "values.yaml"} (\`dify-local values --merge\` does), then helm upgrade`,
    });
  }
  return [...out, ...portFinding(f)];
}
