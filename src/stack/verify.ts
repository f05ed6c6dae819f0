import { clusterChecks } from "../cluster/index.js";
import type { Check, EventSink } from "../engine/index.js";
import { timed } from "../util/index.js";
import type { Service } from "../services/index.js";
import type { Stack } from "./context.js";

/** "Its container runs", then the service's own checks (only when it runs). */
async function serviceChecks(stack: Stack, service: Service): Promise<Check[]> {
  const name = service.settings(stack.config).container;
  const container = await stack.containerOf(service);
  const id = `${service.name}.container`;
  const what = `container ${name} is running`;
  if (!container?.running)
    return [{ id, ok: false, what, detail: container ? `it is ${container.state}` : "it does not exist", fix: "run `dify-local up`" }];
  return [{ id, ok: true, what }, ...(await timed(`checks ${service.name}`, () => service.checks(stack.contextFor(container))))];
}

/**
 * Every check of the seed: each enabled service's, then (with the cluster) the cluster's. Emits
 * one event per check, in order.
 */
export async function runChecks(stack: Stack): Promise<Check[]> {
  const perService = await Promise.all(stack.enabled.map((s) => serviceChecks(stack, s)));
  const checks = perService.flat();
  if (stack.config.cluster.enabled) checks.push(...(await clusterChecks(stack.cluster(), stack.hostPorts())));
  return reportChecks(stack.sink, checks);
}

/** Emits one event per check and passes the checks on. */
export function reportChecks(sink: EventSink, checks: Check[]): Check[] {
  for (const c of checks) {
    sink.emit({ step: `check ${c.id}`, status: c.ok ? "ok" : "fail", detail: c.ok ? c.what : `${c.what}: ${c.detail ?? "failed"}` });
  }
  return checks;
}
