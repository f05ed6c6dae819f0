import { probeHost } from "../../services/index.js";
import { waitIngressAnswers } from "../ingress/answer.js";
import { ingressState } from "../ingress/detect.js";
import { applyManifest, describeObject, workloadsOf, writeRecord, type ApplyOutcome } from "../ingress/install.js";
import { INGRESS_NGINX, type IngressManifest } from "../ingress/manifest.js";
import { waitWorkloads } from "../ingress/wait.js";
import type { Cluster } from "../cluster.js";
import type { ActionResult, ClusterAction } from "./action.js";

/** How a manifest is named in messages: the pinned release, or where it came from. */
export function manifestLabel(manifest: IngressManifest): string {
  return manifest.source.location === INGRESS_NGINX.url ? `ingress-nginx ${INGRESS_NGINX.release}` : manifest.source.location;
}

function summary(label: string, applied: ApplyOutcome): { changes: string[]; detail: string } {
  const changes = [
    ...(applied.created.length ? [`ingress: created ${applied.created.length} objects from ${label}`] : []),
    ...applied.configured.map((c) => `ingress: configured ${c}`),
  ];
  const counts = [
    applied.created.length ? `${applied.created.length} created` : "",
    applied.configured.length ? `${applied.configured.length} configured` : "",
    `${applied.unchanged} unchanged`,
    applied.skipped.length ? `${applied.skipped.length} finished Jobs not run again` : "",
  ].filter(Boolean);
  return { changes, detail: `${label}: ${counts.join(", ")}` };
}

/** The controller answers on the ingress port: any HTTP status (its default backend's 404 before Dify is installed). */
async function answers(cluster: Cluster, signal: AbortSignal | undefined): Promise<string> {
  const host = probeHost(cluster.config);
  const port = cluster.config.cluster.httpPort;
  const got = await waitIngressAnswers(host, port, cluster.config.cluster.readyTimeout, signal);
  return `http://${host}:${port}/ answers ${got.status}${got.server ? ` (${got.server})` : ""}`;
}

/**
 * Installs the ingress controller (`cluster.ingress`): applies its manifest by server-side apply,
 * waits for its admission Jobs and its Deployment, then for an HTTP answer on the ingress port.
 * An IngressClass of the configured name that dify-local did not install is kept as it is.
 */
export const installIngress: ClusterAction = {
  name: "cluster ingress",
  async run({ cluster, signal }): Promise<ActionResult> {
    const { ingress, readyTimeout } = cluster.config.cluster;
    if (ingress.controller === "none")
      return {
        changes: [],
        detail: `not managed (cluster.ingress.controller: none): bring your own controller for IngressClass ${ingress.className}`,
      };
    const kube = await cluster.kube();
    const state = await ingressState(kube, ingress.className);
    if (state.foreign && state.installed) {
      const kept = `kept the installed controller (IngressClass ${state.installed.name}, ${state.installed.controller}; not installed by dify-local)`;
      return { changes: [], detail: `${kept}; ${await answers(cluster, signal)}` };
    }
    const manifest = await cluster.ingressManifest();
    const label = manifestLabel(manifest);
    const applied = await applyManifest(kube, manifest, state.record);
    const workloads = workloadsOf(manifest.objects).filter((w) => !applied.skipped.includes(describeObject(w)));
    await waitWorkloads(kube, workloads, readyTimeout, signal);
    await writeRecord(kube, {
      manifest: manifest.source.location,
      sha256: manifest.digest,
      className: ingress.className,
      workloads: workloadsOf(manifest.objects).map(describeObject).join("\n"),
    });
    const { changes, detail } = summary(label, applied);
    return { changes, detail: `${detail}; controller ready; ${await answers(cluster, signal)}` };
  },
};
