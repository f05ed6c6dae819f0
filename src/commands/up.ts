import {
  CLUSTER_CREATE_ACTIONS,
  CLUSTER_WIRE_ACTIONS,
  clusterPorts,
  gatewayBindings,
  resolveHostAlias,
  runAction,
  type HostAlias,
} from "../cluster/index.js";
import {
  applyItem,
  changesOf,
  checkCarriedData,
  checkPorts,
  planFor,
  pullImages,
  step,
  waitReady,
  type Check,
  type Plan,
  type PlanItem,
  type Readiness,
} from "../engine/index.js";
import { ConflictError, OperationError, UserError, messageOf } from "../errors.js";
import type { ContainerSpec, PortBinding } from "../runtime/index.js";
import type { Service } from "../services/index.js";
import { runChecks, Stack, type StackOptions } from "../stack/index.js";

export interface UpOptions extends StackOptions {
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
  /** With the cluster enabled and `dryRun`: whether `up` would create it or keep the existing one. */
  cluster?: { name: string; action: "create" | "keep" };
}

/** `--pull`: "missing" (the default) or "always"; anything else is a UserError naming the flag. */
export function parsePull(pull: unknown): "missing" | "always" {
  if (pull === undefined) return "missing";
  if (pull === "missing" || pull === "always") return pull;
  throw new UserError(`--pull must be missing or always (got ${JSON.stringify(pull)})`, { key: "--pull" });
}

/**
 * Converges the machine to the config: preflight, images, containers, readiness, init, the
 * cluster, verify. Idempotent: on a converged stack it changes nothing and says so.
 */
export async function up(options: UpOptions = {}): Promise<UpResult> {
  // Options first, then the configuration: bad input never reaches the engine.
  const pullMode = parsePull(options.pull);
  const stack = await Stack.open(options);
  const dryRun = options.dryRun ?? false;
  const alias = await preflightCluster(stack, dryRun);
  const specs = stack.enabled.map((s) => specOf(stack, s, alias));
  const observed = await stack.observe();
  // Reasons quote commands: the redactor masks every secret it knows (the config's, the containers').
  const planOptions = { recreate: options.recreate ?? false, mask: (text: string) => stack.redactor.redact(text) };
  const plan = planFor(specs, observed, planOptions);
  if (dryRun) return { plan, changes: [], checks: [], ok: true, dryRun: true, ...(await clusterPlan(stack)) };

  refuseConflicts(plan);
  const kindPorts = await clusterPortsToCheck(stack);
  await step(
    stack.sink,
    "preflight ports",
    () => checkPorts(stack.runtime, plan.items, kindPorts),
    () => "all ports free or ours",
  );
  await checkCarriedData(stack.runtime, plan.items);
  for (const item of plan.items)
    for (const w of item.warnings) stack.sink.emit({ step: `${item.component} container`, status: "warn", detail: w });
  const needed =
    pullMode === "always"
      ? specs
      : changesOf(plan)
          .filter((i) => i.action !== "start")
          .map((i) => i.spec);
  const pulled = await pullImages(stack.runtime, stack.sink, needed, pullMode);
  // With --pull always, a container of ours on an older image id is planned for recreation.
  const final = pullMode === "always" ? planFor(specs, observed, { ...planOptions, pulled }) : plan;

  const changes = await converge(stack, final, alias);
  stack.forgetObserved();
  const checks = await runChecks(stack);
  const ok = checks.every((c) => c.ok);
  stack.sink.emit({ step: "up", status: ok ? "ok" : "fail", detail: changes.length === 0 ? "no changes" : `${changes.length} changes` });
  return { plan: final, changes, checks, ok, dryRun: false };
}

/** Before anything changes: kind must be there, and on Linux the kind network's gateway known. */
async function preflightCluster(stack: Stack, dryRun: boolean): Promise<HostAlias | undefined> {
  if (!stack.config.cluster.enabled) return undefined;
  await step(
    stack.sink,
    "preflight kind",
    () => stack.kindTool.version(),
    (v) => `kind ${v}`,
  );
  return step(
    stack.sink,
    "host alias",
    () => resolveHostAlias(stack.runtime, { create: !dryRun }),
    (a) =>
      !a
        ? "kind network not created yet"
        : a.mode === "desktop"
          ? "Docker Desktop resolves host.docker.internal"
          : `host.docker.internal -> ${a.ip} (kind network gateway)`,
  );
}

/** A service's container spec; on Linux with the cluster, its ports are published on the kind gateway too. */
function specOf(stack: Stack, service: Service, alias: HostAlias | undefined): ContainerSpec {
  const spec = service.spec(stack.config);
  return alias ? { ...spec, ports: gatewayBindings(spec.ports, alias) } : spec;
}

async function clusterPlan(stack: Stack): Promise<Pick<UpResult, "cluster">> {
  if (!stack.config.cluster.enabled) return {};
  const cluster = stack.cluster();
  return { cluster: { name: cluster.name, action: (await cluster.exists()) ? "keep" : "create" } };
}

/**
 * kind publishes the ingress ports when it creates the cluster, alongside the services: a taken
 * port must stop `up` before anything changes. An existing cluster holds them already.
 */
async function clusterPortsToCheck(stack: Stack): Promise<Array<{ port: PortBinding; for: string }>> {
  if (!stack.config.cluster.enabled || (await stack.cluster().exists())) return [];
  return clusterPorts(stack.config).map((port) => ({ port, for: `the kind cluster ${stack.config.cluster.name}` }));
}

function refuseConflicts(plan: Plan): void {
  const conflicts = plan.items.filter((i) => i.action === "conflict");
  if (conflicts.length === 0) return;
  throw new ConflictError(`existing containers stand in the way:\n  ${conflicts.map((c) => `${c.container}: ${c.reason}`).join("\n  ")}`, {
    hint:
      "rerun with --recreate to replace them: each new container uses the data the old one had (its bind mount or volume becomes the config's volume, the same files), nothing is copied or deleted; " +
      "`dify-local up --recreate --dry-run` shows where each service's data is and will be. Or rename the containers in dify-local.yaml. Nothing was changed",
  });
}

/**
 * Every service's pipeline (container, ready, init) side by side, and the cluster's (create, wait
 * ready, then, once the registry container is up too, the wiring). Returns what changed.
 */
async function converge(stack: Stack, plan: Plan, alias: HostAlias | undefined): Promise<string[]> {
  const pipelines = new Map(plan.items.map((item) => [item.component, convergeService(stack, serviceNamed(stack, item.component), item)]));
  const work: Array<Promise<string[]>> = [...pipelines.values()];
  if (alias) work.push(convergeCluster(stack, alias, pipelines.get("registry")));
  const results = await Promise.allSettled(work);
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
  const first: unknown = failed[0]?.reason;
  if (failed.length === 1 && first instanceof Error) throw first;
  if (failed.length > 0) {
    const messages = [...new Set(failed.map((f) => messageOf(f.reason)))];
    throw new OperationError(`${messages.length} steps failed:\n  ${messages.join("\n  ")}`);
  }
  return results.flatMap((r) => (r.status === "fulfilled" ? r.value : []));
}

function serviceNamed(stack: Stack, name: string): Service {
  const service = stack.enabled.find((s) => s.name === name);
  if (!service) throw new Error(`internal: no service ${name}`);
  return service;
}

async function convergeService(stack: Stack, service: Service, item: PlanItem): Promise<string[]> {
  const { sink, runtime, config } = stack;
  const id = await step(
    sink,
    `${service.name} container`,
    () => applyItem(runtime, item),
    () => describeAction(item),
  );
  const changes =
    item.action === "create" || item.action === "recreate" || item.action === "start"
      ? [`${item.container}: ${pastTense(item.action)}`]
      : [];
  const started = Date.now();
  const readiness: Readiness = { title: service.title, probe: (container) => service.probe(stack.contextFor(container)) };
  const live = await step(
    sink,
    `${service.name} ready`,
    () => waitReady(runtime, readiness, id, config.readyTimeout),
    () => `answered after ${((Date.now() - started) / 1000).toFixed(1)}s`,
  );
  const init = service.init?.bind(service);
  if (!init) return changes;
  const made = await step(
    sink,
    `${service.name} init`,
    () => init(stack.contextFor(live)),
    (m) => (m.length ? m.join("; ") : "nothing to do"),
  );
  return [...changes, ...made.map((m) => `${item.container}: ${m}`)];
}

async function convergeCluster(stack: Stack, alias: HostAlias, registry: Promise<unknown> | undefined): Promise<string[]> {
  const ctx = { cluster: stack.cluster(), alias };
  const changes: string[] = [];
  for (const action of CLUSTER_CREATE_ACTIONS) changes.push(...(await runAction(stack.sink, action, ctx)));
  // The wiring needs the registry container as well as the nodes.
  await registry;
  const wired = await Promise.all(CLUSTER_WIRE_ACTIONS.map((action) => runAction(stack.sink, action, ctx)));
  return [...changes, ...wired.flat()];
}

function pastTense(action: "create" | "recreate" | "start"): string {
  return action === "create" ? "created" : action === "start" ? "started" : "recreated";
}

function describeAction(item: PlanItem): string {
  switch (item.action) {
    case "create":
      return "created";
    case "start":
      return `started (${item.reason})`;
    case "recreate":
      return `recreated (${item.reason}); ${item.carry ? `its data carried over from ${item.carry.from}` : "volume kept"}`;
    case "adopt":
      return `adopted (${item.reason})`;
    case "keep":
      return `unchanged (${item.reason})`;
    case "conflict":
      return item.reason;
  }
}
