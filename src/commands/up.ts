import { clusterChecks, clusterPorts, gatewayBindings, kind, resolveHostAlias, type HostAlias } from "../cluster/index.js";
import { ConflictError, OperationError, messageOf } from "../errors.js";
import { applyItem, changesOf, checkPorts, planFor, pullImages, step, waitReady, type Plan, type PlanItem } from "../engine/index.js";
import { LABELS } from "../runtime/index.js";
import { enabledComponents, probeHost, type Check, type Component } from "../services/index.js";
import { convergeCluster, wireCluster } from "./cluster-up.js";
import { openContext, type CommandOptions, type Context } from "./context.js";
import { reportChecks, runChecks } from "./verify.js";

export interface UpOptions extends CommandOptions {
  /** Print the plan and change nothing. */
  dryRun?: boolean;
  /** `missing` (default) pulls only absent images; `always` pulls every image and recreates containers whose image changed. */
  pull?: "missing" | "always";
  /** Replace containers with the seed's names that were made outside dify-local and differ from the config. */
  recreate?: boolean;
}

export interface UpResult {
  plan: Plan;
  /** What changed, in words; empty on a converged stack. */
  changes: string[];
  checks: Check[];
  ok: boolean;
  dryRun: boolean;
  /** With the cluster enabled: whether `up` creates it or keeps the existing one. */
  cluster?: { name: string; action: "create" | "keep" };
}

/**
 * Converges the machine to the config: preflight, images, containers, readiness, init, verify.
 * Idempotent: on a converged stack it changes nothing and says so.
 */
export async function up(options: UpOptions = {}): Promise<UpResult> {
  const ctx = await openContext(options);
  const { config, runtime, sink } = ctx;
  const clusterOn = config.cluster.enabled;
  const dryRun = options.dryRun ?? false;

  let alias: HostAlias | undefined;
  let clusterExists = false;
  if (clusterOn) {
    // Before anything changes: kind must be there, and on Linux the kind network's gateway known.
    await step(sink, "preflight kind", () => kind.version(), (v) => `kind ${v}`);
    clusterExists = (await kind.clusters()).includes(config.cluster.name);
    alias = await step(sink, "host alias", () => resolveHostAlias(runtime, { create: !dryRun }), (a) =>
      !a ? "kind network not created yet" : a.mode === "desktop" ? "Docker Desktop resolves host.docker.internal" : `host.docker.internal -> ${a.ip} (kind network gateway)`,
    );
  }
  const components = enabledComponents(config);
  const specs = components.map((c) => {
    const spec = c.spec(config);
    return alias ? { ...spec, ports: gatewayBindings(spec.ports, alias) } : spec;
  });
  const observed = await runtime.observe(specs.map((s) => s.name));
  const plan = planFor(specs, observed, { recreate: options.recreate ?? false });

  if (dryRun) {
    const name = config.cluster.name;
    const cluster = clusterOn ? { name, action: clusterExists ? ("keep" as const) : ("create" as const) } : undefined;
    return { plan, changes: [], checks: [], ok: true, dryRun: true, ...(cluster ? { cluster } : {}) };
  }

  const conflicts = plan.items.filter((i) => i.action === "conflict");
  if (conflicts.length > 0) {
    throw new ConflictError(`existing containers stand in the way:\n  ${conflicts.map((c) => `${c.container}: ${c.reason}`).join("\n  ")}`, {
      hint: "rerun with --recreate to replace them (their volumes are kept), or rename the containers in dify-local.yaml; nothing was changed",
    });
  }

  // kind publishes the ingress ports when it creates the cluster, alongside the services: a taken
  // port must stop `up` here, before anything changes. An existing cluster holds them already.
  const kindPorts = clusterOn && !clusterExists ? clusterPorts(config).map((port) => ({ port, for: `the kind cluster ${config.cluster.name}` })) : [];
  await step(sink, "preflight ports", () => checkPorts(runtime, plan.items, kindPorts), () => "all ports free or ours");
  const pullMode = options.pull ?? "missing";
  const needImages = pullMode === "always" ? specs : changesOf(plan).filter((i) => i.action !== "start").map((i) => i.spec);
  await pullImages(runtime, sink, needImages, pullMode);
  if (pullMode === "always") await markUpdatedImages(ctx, plan);

  const changes: string[] = [];
  const pipelines = new Map(
    plan.items.map((item) => {
      const component = components.find((c) => c.name === item.component);
      if (!component) throw new Error(`internal: no component ${item.component}`);
      return [item.component, converge(ctx, component, item, changes)] as const;
    }),
  );
  const work: Array<Promise<unknown>> = [...pipelines.values()];
  if (clusterOn && alias) {
    const cluster = convergeCluster(ctx, changes);
    const registry = pipelines.get("registry") ?? Promise.resolve();
    const clusterAlias = alias;
    // Wiring needs both the nodes and the registry container; everything else runs alongside.
    work.push(Promise.all([cluster, registry]).then(([kube]) => wireCluster(ctx, kube, clusterAlias, changes)));
  }
  const results = await Promise.allSettled(work);
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed.length > 0) {
    const first = failed[0]?.reason as unknown;
    if (failed.length === 1 && first instanceof Error) throw first;
    const messages = [...new Set(failed.map((f) => messageOf(f.reason)))];
    throw new OperationError(`${messages.length} steps failed:\n  ${messages.join("\n  ")}`);
  }

  const checks = await runChecks(ctx);
  if (clusterOn) checks.push(...(await reportChecks(ctx, await clusterChecks(runtime, config))));
  const ok = checks.every((c) => c.ok);
  sink.emit({ step: "up", status: ok ? "ok" : "fail", detail: changes.length === 0 ? "no changes" : `${changes.length} changes` });
  return { plan, changes, checks, ok, dryRun: false };
}

async function converge(ctx: Context, component: Component, item: PlanItem, changes: string[]): Promise<void> {
  const { sink, runtime, config } = ctx;
  const id = await step(sink, `${component.name} container`, () => applyItem(runtime, item), () => describeAction(item));
  if (item.action === "create" || item.action === "recreate" || item.action === "start") {
    changes.push(`${item.container}: ${item.action === "create" ? "created" : item.action === "start" ? "started" : "recreated"}`);
  }
  const serviceCtx = { config, runtime, host: probeHost(config), container: undefined };
  const started = Date.now();
  const live = await step(sink, `${component.name} ready`, () => waitReady(component, serviceCtx, id, config.readyTimeout), () =>
    `answered after ${((Date.now() - started) / 1000).toFixed(1)}s`,
  );
  if (component.init) {
    const init = component.init.bind(component);
    const made = await step(sink, `${component.name} init`, () => init({ ...serviceCtx, container: live }), (m) => (m.length ? m.join("; ") : "nothing to do"));
    changes.push(...made.map((m) => `${item.container}: ${m}`));
  }
}

function describeAction(item: PlanItem): string {
  switch (item.action) {
    case "create":
      return "created";
    case "start":
      return `started (${item.reason})`;
    case "recreate":
      return `recreated (${item.reason}); volume kept`;
    case "adopt":
      return `adopted (${item.reason})`;
    case "keep":
      return `unchanged (${item.reason})`;
    case "conflict":
      return item.reason;
  }
}

/** With `--pull always`, a container of ours whose image id differs from the freshly pulled one is recreated. */
async function markUpdatedImages(ctx: Context, plan: Plan): Promise<void> {
  for (const item of plan.items) {
    if (!item.observed || item.observed.labels[LABELS.managed] !== "true" || item.action === "recreate" || item.action === "create") continue;
    const id = await ctx.runtime.imageId(item.spec.image);
    if (id && id !== item.observed.imageId) {
      item.action = "recreate";
      item.reason = `a newer ${item.spec.image} was pulled`;
    }
  }
}
