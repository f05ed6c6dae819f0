import type { Check } from "../../engine/index.js";
import { messageOf } from "../../errors.js";
import { DIFY_DOMAINS } from "../../helm/index.js";
import { probeHost } from "../../services/index.js";
import type { Cluster } from "../cluster.js";
import { askIngress } from "./answer.js";
import { ingressState, type IngressState } from "./detect.js";
import { recordWorkloads } from "./install.js";
import { workloadProblems } from "./wait.js";

const UP = "run `dify-local up`";

/** Whether the control-plane node publishes the ingress port on the host (kind's extraPortMappings). */
async function publishes(cluster: Cluster, port: number): Promise<boolean> {
  const node = await cluster.controlPlane();
  if (!node) return false;
  const observed = (await cluster.runtime.observe([node.name])).get(node.name);
  return observed?.ports.some((p) => p.hostPort === port && p.containerPort === 80) ?? false;
}

/** One HTTP request to the ingress port, as `up` makes it; answered only counts through the control plane's mapping. */
export async function answerCheck(cluster: Cluster): Promise<Check> {
  const host = probeHost(cluster.config);
  const port = cluster.config.cluster.httpPort;
  const id = "cluster.ingress.answers";
  const what = `the ingress controller answers on http://${host}:${port}/ (Host: ${DIFY_DOMAINS.console})`;
  const [answer, mapped] = await Promise.all([askIngress(host, port), publishes(cluster, port)]);
  if (!mapped)
    return {
      id,
      ok: false,
      what,
      detail: `the control-plane node does not publish port 80 on ${port}${"status" in answer ? `; something else answers there (HTTP ${answer.status})` : ""}`,
      fix: "`dify-local doctor` names what holds the port; a cluster made without extraPortMappings for 80/443 must be recreated",
    };
  if ("status" in answer) return { id, ok: true, what, detail: `HTTP ${answer.status}${answer.server ? ` (${answer.server})` : ""}` };
  return { id, ok: false, what, detail: answer.error, fix: `${UP}; \`dify-local doctor\` explains why the controller does not answer` };
}

function installedCheck(cluster: Cluster, state: IngressState): Check {
  const className = cluster.config.cluster.ingress.className;
  const id = "cluster.ingress.installed";
  if (!state.installed)
    return {
      id,
      ok: false,
      what: `IngressClass ${className} is installed`,
      detail: "there is none",
      fix: `${UP} to install the controller`,
    };
  const by = state.foreign ? "not installed by dify-local, kept" : "installed by dify-local";
  return { id, ok: true, what: `IngressClass ${className} is installed (${state.installed.controller}; ${by})` };
}

async function readyCheck(cluster: Cluster, state: IngressState): Promise<Check | undefined> {
  if (!state.record) return undefined;
  const kube = await cluster.kube();
  const problems = await workloadProblems(kube, recordWorkloads(state.record));
  const what = "the ingress controller's Jobs completed and its Deployment is available";
  return problems.length === 0
    ? { id: "cluster.ingress.ready", ok: true, what }
    : { id: "cluster.ingress.ready", ok: false, what, detail: problems.join("; "), fix: `${UP}; \`dify-local doctor\` for the reasons` };
}

/**
 * The ingress checks of `verify` (with `cluster.ingress.controller: nginx`): the IngressClass is
 * there, what dify-local installed is ready, and the controller answers on the ingress port.
 * With `none` the controller is the user's: nothing is checked.
 */
export async function ingressChecks(cluster: Cluster): Promise<Check[]> {
  const { ingress } = cluster.config.cluster;
  if (ingress.controller === "none") return [];
  let state: IngressState;
  try {
    state = await ingressState(await cluster.kube(), ingress.className);
  } catch (err) {
    return [
      {
        id: "cluster.ingress.installed",
        ok: false,
        what: `IngressClass ${ingress.className} is installed`,
        detail: messageOf(err),
        fix: UP,
      },
    ];
  }
  const ready = await readyCheck(cluster, state);
  return [installedCheck(cluster, state), ...(ready ? [ready] : []), await answerCheck(cluster)];
}
