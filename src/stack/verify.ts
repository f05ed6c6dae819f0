import { clusterChecks, existingClusterChecks } from "../cluster/index.js";
import type { Check, EventSink } from "../engine/index.js";
import { timed } from "../util/index.js";
import type { ObservedContainer } from "../runtime/index.js";
import type { Service } from "../services/index.js";
import type { Stack } from "./context.js";
import { clusterTargets } from "./existing.js";

async function serviceChecks(stack: Stack, service: Service): Promise<Check[]> {
  return serviceChecksOn(stack, service, await stack.containerOf(service));
}

/**
 * "Its container runs", then the service's own checks (only when it runs), on `container` as just
 * observed (`up` passes the one its readiness wait inspected last, and the checks its readiness
 * probe and init have just shown: `proven`).
 */
export async function serviceChecksOn(
  stack: Stack,
  service: Service,
  container: ObservedContainer | undefined,
  proven?: ReadonlyMap<string, string>,
): Promise<Check[]> {
  // An external service has no container: its own checks run against its endpoint.
  if (service.external(stack.config)) return timed(`checks ${service.name}`, () => service.checks(stack.contextFor(undefined)));
  const name = service.settings(stack.config).container;
  const id = `${service.name}.container`;
  const what = `container ${name} is running`;
  if (!container?.running)
    return [{ id, ok: false, what, detail: container ? `it is ${container.state}` : "it does not exist", fix: "run `dify-local up`" }];
  return [{ id, ok: true, what }, ...(await timed(`checks ${service.name}`, () => service.checks(stack.contextFor(container, proven))))];
}

/**
 * Every check of the seed: each enabled service's, then (with the cluster) the cluster's: for an
 * existing cluster (`cluster.context`), its API, the namespace and a probe Job's connections. Emits
 * one event per check, in order. `done` holds services' checks already run (by `up`, each as soon
 * as its service was ready), by service name.
 */
export async function runChecks(stack: Stack, done: ReadonlyMap<string, Check[]> = new Map()): Promise<Check[]> {
  const perService = await Promise.all(stack.enabled.map(async (s) => done.get(s.name) ?? serviceChecks(stack, s)));
  const checks = perService.flat();
  const existing = stack.existing();
  if (existing) {
    const { probeImage: image, probeTimeout: timeoutSeconds } = stack.config.cluster;
    checks.push(...(await existingClusterChecks(existing, clusterTargets(stack), { image, timeoutSeconds, signal: stack.signal })));
  } else if (stack.clusterMode === "kind") checks.push(...(await clusterChecks(stack.cluster(), stack.hostPorts())));
  return reportChecks(stack.sink, checks);
}

/** Emits one event per check and passes the checks on. */
export function reportChecks(sink: EventSink, checks: Check[]): Check[] {
  for (const c of checks) {
    sink.emit({ step: `check ${c.id}`, status: c.ok ? "ok" : "fail", detail: c.ok ? c.what : `${c.what}: ${c.detail ?? "failed"}` });
  }
  return checks;
}
