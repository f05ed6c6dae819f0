import {
  CERTS_D,
  CLUSTER_ADDON_ACTIONS,
  CLUSTER_CREATE_ACTIONS,
  CLUSTER_WIRE_ACTIONS,
  certsDRefusal,
  ingressState,
  manifestClasses,
  manifestLabel,
  clusterPorts,
  nodesIgnoringCertsD,
  patchable,
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
  parsePull,
} from "../engine/index.js";
import { ConflictError, InterruptedError, OperationError, UserError, messageOf } from "../errors.js";
import type { ContainerSpec, ObservedContainer, PortBinding } from "../runtime/index.js";
import { isExternal, type Service } from "../services/index.js";
import {
  dataLostMessage,
  introduceExisting,
  runChecks,
  serviceChecksOn,
  Stack,
  type ExclusiveOptions,
  type StackOptions,
  type VolumeEntry,
} from "../stack/index.js";

export interface UpOptions extends StackOptions, ExclusiveOptions {
  /** Print the plan and change nothing. */
  dryRun?: boolean;
  /** `missing` (default) pulls only absent images; `always` pulls every image and recreates containers whose image changed. */
  pull?: "missing" | "always";
  /** Replace containers with the seed's names that were made outside dify-local and differ from the config. */
  recreate?: boolean;
  /**
   * `--generate-passwords`: as `credentials: generate` in the config: random passwords and keys
   * instead of the seed's, kept in the user's config directory; an existing stack is switched to
   * them (PostgreSQL's password changed in place, the containers recreated, the data kept).
   */
  generatePasswords?: boolean;
  /**
   * `--patch-containerd`: on a cluster whose nodes' containerd does not read
   * /etc/containerd/certs.d (a cluster made elsewhere on a node image before kind v0.27), add its
   * `config_path` and restart containerd one node at a time, each node Ready again before the
   * next. Without it, `up` stops on such a cluster before changing anything.
   */
  patchContainerd?: boolean;
  /**
   * With `cluster.context`: go on although the context's name suggests production (prod,
   * production, prd); without it `up` refuses such a context before changing anything.
   */
  yes?: boolean;
}

export interface UpResult {
  plan: Plan;
  /** What changed, in words; empty on a converged stack. */
  changes: string[];
  /**
   * What the user must know although `up` went on: a data volume dify-local had used that was
   * found deleted ("volume X was missing and has been created empty: data from before is lost").
   * With `dryRun`, the volumes that would be created empty so.
   */
  warnings: string[];
  checks: Check[];
  ok: boolean;
  dryRun: boolean;
  /** With the cluster enabled and `dryRun`: whether `up` would create it or keep the existing one. */
  cluster?: { name: string; action: "create" | "keep" };
  /** With `cluster.context` and `dryRun`: whether `up` would create the namespace or keep it. */
  namespace?: { context: string; name: string; action: "create" | "keep" };
  /** The external services (no container; checked and initialised where they are), as `service`, `address` and TLS. */
  external: Array<{ service: string; address: string; tls: string }>;
}

/** `--pull`: "missing" (the default) or "always"; anything else is a UserError naming the flag. */

/**
 * What `up` has done so far, one list of changes per pipeline (services in the plan's order, then
 * the cluster), so the result lists them in a stable order; an interrupted `up` says them.
 */
interface Progress {
  pipelines: string[][];
  warnings: string[];
}

function allChanges(progress: Progress): string[] {
  return progress.pipelines.flat();
}

/**
 * Converges the machine to the config: preflight, images, containers, readiness, init, the
 * cluster, verify. Idempotent: on a converged stack it changes nothing and says so. Holds the
 * stack's lock while it changes anything (another `up` or `down` on the same engine and config
 * waits, or stops at once with `wait: false`).
 */
export async function up(options: UpOptions = {}): Promise<UpResult> {
  // Options first, then the configuration: bad input never reaches the engine.
  const pullMode = parsePull(options.pull);
  const stack = await Stack.open({
    ...options,
    ...(options.generatePasswords ? { overrides: { ...options.overrides, credentials: "generate" as const } } : {}),
    // A dry run generates in memory and keeps nothing: later commands must not switch to passwords no up applied.
    persistCredentials: !options.dryRun,
    preloadClients: !options.dryRun,
    identify: !options.dryRun,
  });
  await introduceExisting(stack, { writes: options.dryRun ? undefined : "up", yes: options.yes ?? false });
  if (options.dryRun) return dryRun(stack, options);
  return stack.exclusive("up", options, async () => {
    const progress: Progress = { pipelines: [], warnings: [] };
    try {
      return await converged(stack, { ...options, pull: pullMode }, progress);
    } catch (err) {
      const interrupted = stack.interruption();
      throw interrupted ? summary(interrupted, progress) : err;
    }
  });
}

async function dryRun(stack: Stack, options: UpOptions): Promise<UpResult> {
  const alias = await preflightCluster(stack, true);
  const containerd = await preflightContainerd(stack, options);
  announceExternal(stack, true);
  const specs = local(stack).map((s) => specOf(stack, s, alias));
  // Reasons quote commands: the redactor masks every secret it knows (the config's, the containers').
  const plan = planFor(specs, await stack.observe(), {
    recreate: options.recreate ?? false,
    mask: (text: string) => stack.redactor.redact(text),
  });
  const warnings: string[] = [];
  for (const item of changesOf(plan)) warnings.push(...(await lostVolumes(stack, item)).map((e) => dataLostMessage(e, false)));
  if (containerd) warnings.push(containerd);
  return {
    plan,
    changes: [],
    warnings,
    checks: [],
    ok: true,
    dryRun: true,
    external: externalList(stack),
    ...(await clusterPlan(stack)),
    ...(await namespacePlan(stack)),
  };
}

async function converged(stack: Stack, options: UpOptions & { pull: "missing" | "always" }, progress: Progress): Promise<UpResult> {
  const pullMode = options.pull;
  const generated = stack.resolved.credentials;
  if (generated.created && generated.file)
    stack.sink.emit({ step: "credentials", status: "ok", detail: `generated random passwords and keys, kept in ${generated.file}` });
  const alias = await preflightCluster(stack, false);
  await preflightContainerd(stack, options);
  if (stack.clusterMode === "kind") await preflightIngress(stack);
  const specs = local(stack).map((s) => specOf(stack, s, alias));
  const observed = await stack.observe();
  // Reasons quote commands: the redactor masks every secret it knows (the config's, the containers').
  const planOptions = { recreate: options.recreate ?? false, mask: (text: string) => stack.redactor.redact(text) };
  const plan = planFor(specs, observed, planOptions);
  refuseConflicts(plan);
  const kindPorts = await clusterPortsToCheck(stack);
  stack.checkpoint();
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
  const pulled = await pullImages(stack.runtime, stack.sink, needed, pullMode, stack.signal);
  // With --pull always, a container of ours on an older image id is planned for recreation.
  const final = pullMode === "always" ? planFor(specs, observed, { ...planOptions, pulled }) : plan;
  await rotateCredentials(stack, final, progress);
  await ensureNamespace(stack, progress);

  const serviceChecks = await converge(stack, final, alias, progress, options);
  stack.forgetObserved();
  stack.checkpoint();
  const checks = await runChecks(stack, serviceChecks);
  const ok = checks.every((c) => c.ok);
  const changes = allChanges(progress);
  const warnings = progress.warnings;
  stack.sink.emit({ step: "up", status: ok ? "ok" : "fail", detail: changes.length === 0 ? "no changes" : `${changes.length} changes` });
  return { plan: final, changes, warnings, checks, ok, dryRun: false, external: externalList(stack) };
}

/**
 * Before any container is replaced: the services that keep their credentials in their data
 * (PostgreSQL) change them in place to the configured ones, through the running containers' old
 * ones; one that cannot refuses with the steps (nothing has been changed yet).
 */
async function rotateCredentials(stack: Stack, plan: Plan, progress: Progress): Promise<void> {
  const changes: string[] = [];
  progress.pipelines.push(changes);
  for (const item of plan.items) {
    const service = serviceNamed(stack, item.component);
    const rotate = service.rotate?.bind(service);
    if (item.action !== "recreate" || !rotate || !item.observed) continue;
    stack.checkpoint();
    const made = await step(
      stack.sink,
      `${item.component} credentials`,
      () => rotate(stack.contextFor(item.observed)),
      (m) => (m.length ? m.join("; ") : "unchanged"),
    );
    changes.push(...made.map((m) => `${item.container}: ${m}`));
  }
}

/** An interrupted `up`: what it had done, and that the next `up` continues from there. */
function summary(interrupted: InterruptedError, progress: Progress): InterruptedError {
  const changes = allChanges(progress);
  const done = changes.length
    ? `before stopping it made ${changes.length} change${changes.length === 1 ? "" : "s"}: ${changes.join("; ")}`
    : "nothing had been changed yet";
  const lost = progress.warnings.length ? `; ${progress.warnings.join("; ")}` : "";
  return new InterruptedError(`up ${interrupted.message}: it finished the step in flight and started no other; ${done}${lost}`, {
    ...(interrupted.signal ? { signal: interrupted.signal } : {}),
    hint: "run `dify-local up` again: it continues from here (a container removed for a recreate is created again)",
  });
}

/**
 * With `cluster.context`: the namespace dify-local works in, created when missing (server-side
 * apply); the only change `up` makes in an existing cluster.
 */
async function ensureNamespace(stack: Stack, progress: Progress): Promise<void> {
  const existing = stack.existing();
  if (!existing) return;
  const changes: string[] = [];
  progress.pipelines.push(changes);
  stack.checkpoint();
  const created = await step(
    stack.sink,
    "namespace",
    () => existing.ensureNamespace(),
    (made) => `${existing.namespace} ${made ? "created" : "exists"} in context ${existing.context}`,
  );
  if (created) changes.push(`namespace ${existing.namespace}: created in context ${existing.context}`);
}

async function namespacePlan(stack: Stack): Promise<Pick<UpResult, "namespace">> {
  const existing = stack.existing();
  if (!existing) return {};
  const exists = await (await existing.kube()).namespaceExists(existing.namespace);
  return { namespace: { context: existing.context, name: existing.namespace, action: exists ? "keep" : "create" } };
}

/** Before anything changes: kind must be there, and on Linux the kind network's gateway known. */
async function preflightCluster(stack: Stack, dryRun: boolean): Promise<HostAlias | undefined> {
  if (stack.clusterMode !== "kind") return undefined;
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

/**
 * Before anything changes: the ingress manifest is loaded (downloaded once, cached) and its digest
 * checked, so being offline or a changed file stops `up` with nothing done. Not needed when the
 * cluster already has a controller of the configured class that dify-local did not install (kept).
 */
async function preflightIngress(stack: Stack): Promise<void> {
  const { ingress } = stack.config.cluster;
  if (ingress.controller === "none") return;
  const cluster = stack.cluster();
  const kept = (await cluster.exists())
    ? await cluster
        .kube()
        .then((kube) => ingressState(kube, ingress.className))
        .then((s) => s.foreign)
        .catch(() => false)
    : false;
  if (kept) return;
  const manifest = await step(
    stack.sink,
    "preflight ingress",
    () => cluster.ingressManifest(),
    (m) =>
      `${manifestLabel(m)} (${m.from === "download" ? "downloaded" : m.from === "cache" ? "cached" : "file"}, sha256 ${m.digest.slice(0, 12)}${m.source.sha256 ? " verified" : ", not pinned"})`,
  );
  const classes = manifestClasses(manifest.objects);
  if (classes.length > 0 && !classes.includes(ingress.className))
    throw new UserError(
      `cluster.ingress.className is ${ingress.className}, but the ingress manifest defines IngressClass ${classes.join(", ")}: Dify's ingress would never be served`,
      { key: "cluster.ingress.className", hint: `set cluster.ingress.className: ${classes[0] ?? ""} in dify-local.yaml` },
    );
}

/**
 * A cluster that exists already (made elsewhere, or by an earlier `up`) whose containerd does not
 * read certs.d stops `up` here, before anything changes, unless `--patch-containerd` (the
 * cluster's own step patches it then; see checkContainerd). Stopped nodes are checked by that step
 * once they run. A dry run gets what `up` would do instead, in words.
 */
async function preflightContainerd(stack: Stack, options: UpOptions): Promise<string | undefined> {
  if (stack.clusterMode !== "kind") return undefined;
  const cluster = stack.cluster();
  if (!(await cluster.exists())) return undefined;
  const lacking = await step(
    stack.sink,
    "preflight containerd",
    () => nodesIgnoringCertsD(cluster),
    (l) => (l.length === 0 ? `every running node reads ${CERTS_D}` : `${l.length} of the nodes do not read ${CERTS_D}`),
  );
  if (lacking.length === 0) return undefined;
  const names = lacking.map((n) => n.node.name).join(", ");
  const refusal = certsDRefusal(cluster, lacking);
  const patch = options.patchContainerd === true && patchable(lacking);
  if (options.dryRun)
    return patch
      ? `up would add config_path to containerd's config in ${names} and restart containerd there, one node at a time`
      : `up would stop: ${refusal.message}; ${refusal.hint ?? ""}`;
  if (!patch) throw refusal;
  return undefined;
}

/** The enabled services dify-local runs as containers (not external ones). */
function local(stack: Stack): Service[] {
  return stack.enabled.filter((s) => !isExternal(s, stack.config));
}

/** The enabled services that already run elsewhere: no container, volume or port; checked and initialised where they are. */
function external(stack: Stack): Service[] {
  return stack.enabled.filter((s) => isExternal(s, stack.config));
}

function externalList(stack: Stack): UpResult["external"] {
  return external(stack).flatMap((s) => {
    const at = s.external(stack.config);
    return at ? [{ service: s.name, address: at.address, tls: at.tls }] : [];
  });
}

/** One event per external service before anything happens: where it is, and that dify-local makes nothing for it. */
function announceExternal(stack: Stack, dryRun: boolean): void {
  for (const s of external(stack)) {
    const at = s.external(stack.config);
    if (!at) continue;
    stack.sink.emit({
      step: `${s.name} external`,
      status: "skip",
      detail: `${at.address} (${at.tls}): no container${dryRun ? "; up would check it and create what is missing there (databases), never delete" : ""}`,
    });
  }
}

/** A service's container spec; on Linux with the cluster, its ports are published on the kind gateway too. */
function specOf(stack: Stack, service: Service, alias: HostAlias | undefined): ContainerSpec {
  const spec = service.spec(stack.config);
  return alias ? { ...spec, ports: gatewayBindings(spec.ports, alias) } : spec;
}

async function clusterPlan(stack: Stack): Promise<Pick<UpResult, "cluster">> {
  if (stack.clusterMode !== "kind") return {};
  const cluster = stack.cluster();
  return { cluster: { name: cluster.name, action: (await cluster.exists()) ? "keep" : "create" } };
}

/**
 * kind publishes the ingress ports when it creates the cluster, alongside the services: a taken
 * port must stop `up` before anything changes. An existing cluster holds them already.
 */
async function clusterPortsToCheck(stack: Stack): Promise<Array<{ port: PortBinding; for: string }>> {
  if (stack.clusterMode !== "kind" || (await stack.cluster().exists())) return [];
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
 * Every service's pipeline (container, ready, init, its checks) side by side, and the cluster's
 * (create, wait ready, then, once the registry container is up too, the wiring). The containers of
 * services that start first (PostgreSQL) are started before the others'. Records what changed in
 * `progress` as it happens. Interrupted, every pipeline stops before its next step. Returns each
 * service's checks by name.
 */
async function converge(
  stack: Stack,
  plan: Plan,
  alias: HostAlias | undefined,
  progress: Progress,
  options: UpOptions,
): Promise<Map<string, Check[]>> {
  const pipeline = (): string[] => {
    const changes: string[] = [];
    progress.pipelines.push(changes);
    return changes;
  };
  const leaders = new Map(plan.items.filter((i) => serviceNamed(stack, i.component).startFirst).map((i) => [i.component, latch()]));
  const leadersStarted = Promise.all([...leaders.values()].map((l) => l.done));
  const turn = (component: string): Turn => {
    const own = leaders.get(component);
    return own ? { after: Promise.resolve(), started: own.open } : { after: leadersStarted, started: () => undefined };
  };
  const pipelines = new Map(
    plan.items.map((item) => [
      item.component,
      convergeService(stack, serviceNamed(stack, item.component), item, { changes: pipeline(), progress, turn: turn(item.component) }),
    ]),
  );
  for (const service of external(stack)) pipelines.set(service.name, convergeExternal(stack, service, pipeline()));
  const work: Array<Promise<unknown>> = [...pipelines.values()];
  if (alias)
    work.push(convergeCluster(stack, { alias, patchContainerd: options.patchContainerd ?? false }, pipelines.get("registry"), pipeline()));
  const results = await Promise.allSettled(work);
  stack.checkpoint();
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
  const first: unknown = failed[0]?.reason;
  if (failed.length === 1 && first instanceof Error) throw first;
  if (failed.length > 0) {
    const messages = [...new Set(failed.map((f) => messageOf(f.reason)))];
    throw new OperationError(`${messages.length} steps failed:\n  ${messages.join("\n  ")}`);
  }
  const checks = new Map<string, Check[]>();
  for (const [name, p] of pipelines) checks.set(name, await p);
  return checks;
}

/** When a service's container may start (`after`), and what it says once it has (`started`). */
interface Turn {
  after: Promise<unknown>;
  started: () => void;
}

/** The container as the plan observed it, when the pipeline leaves it as it was. */
function untouched(item: PlanItem): ObservedContainer | undefined {
  return item.action === "keep" || item.action === "adopt" ? item.observed : undefined;
}

/** A promise and the function that resolves it (Node 20 has no Promise.withResolvers). */
function latch(): { done: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const done = new Promise<void>((resolve) => (open = resolve));
  return { done, open };
}

function serviceNamed(stack: Stack, name: string): Service {
  const service = stack.enabled.find((s) => s.name === name);
  if (!service) throw new Error(`internal: no service ${name}`);
  return service;
}

interface Pipeline {
  /** This pipeline's list of changes (see {@link Progress}). */
  changes: string[];
  progress: Progress;
  turn: Turn;
}

/** The container (in its turn), readiness, init, then the service's checks on the container as the readiness wait last saw it. */
async function convergeService(stack: Stack, service: Service, item: PlanItem, pipeline: Pipeline): Promise<Check[]> {
  const { sink, runtime, config } = stack;
  const { changes } = pipeline;
  const id = await convergeContainer(stack, service, item, pipeline);
  stack.checkpoint();
  const started = Date.now();
  // What the last probe saw goes to the init, which then need not ask again.
  let seen: unknown;
  const readiness: Readiness = {
    title: service.title,
    probe: async (container) => {
      seen = await service.probe(stack.contextFor(container));
    },
  };
  const live = await step(
    sink,
    `${service.name} ready`,
    // A container kept as it was is probed as this command's observation just saw it.
    () => waitReady(runtime, readiness, id, config.readyTimeout, stack.signal, untouched(item)),
    () => `answered after ${((Date.now() - started) / 1000).toFixed(1)}s`,
  );
  await initService(stack, service, live, seen, (m) => changes.push(`${item.container}: ${m}`));
  stack.checkpoint();
  // What the readiness probe and the init have just shown is not asked again.
  const proven = new Map([
    ...service.proves.probe.map((id) => [id, `${service.name} ready`] as const),
    ...service.proves.init.map((id) => [id, `${service.name} init`] as const),
  ]);
  return serviceChecksOn(stack, service, live, proven);
}

/** The service's idempotent init, on its container (or its external endpoint), told what its probe saw; reports each change. */
async function initService(
  stack: Stack,
  service: Service,
  container: ObservedContainer | undefined,
  seen: unknown,
  record: (m: string) => void,
): Promise<void> {
  const init = service.init?.bind(service);
  if (!init) return;
  stack.checkpoint();
  const made = await step(
    stack.sink,
    `${service.name} init`,
    () => init(stack.contextFor(container), seen),
    (m) => (m.length ? m.join("; ") : "nothing to do"),
  );
  for (const m of made) record(m);
}

/**
 * An external service's pipeline: one real round trip with the configured credentials and TLS
 * (a failure is classified and names host:port: nothing waits for a server dify-local does not
 * start), its init there (creating what is missing, never deleting), then its checks.
 */
async function convergeExternal(stack: Stack, service: Service, changes: string[]): Promise<Check[]> {
  const at = service.external(stack.config);
  if (!at) throw new Error(`internal: ${service.name} is not external`);
  stack.checkpoint();
  let seen: unknown;
  await step(
    stack.sink,
    `${service.name} external`,
    async () => {
      try {
        seen = await service.probe(stack.contextFor(undefined));
      } catch (err) {
        throw service.externalFailure(stack.config, err);
      }
    },
    () => `${at.address} (${at.tls}) answered; no container`,
  );
  await initService(stack, service, undefined, seen, (m) => changes.push(`${service.name} at ${at.address}: ${m}`));
  stack.checkpoint();
  return serviceChecksOn(stack, service, undefined);
}

/** Creates, recreates or starts the container as planned, once it is its turn; warns of data volumes found deleted. */
async function convergeContainer(stack: Stack, service: Service, item: PlanItem, { changes, progress, turn }: Pipeline): Promise<string> {
  const { sink, runtime } = stack;
  stack.checkpoint();
  const lost = await lostVolumes(stack, item);
  let id: string;
  try {
    await turn.after;
    id = await step(
      sink,
      `${service.name} container`,
      () => applyItem(runtime, item),
      () => describeAction(item),
    );
  } finally {
    turn.started();
  }
  if (item.action === "create" || item.action === "recreate" || item.action === "start")
    changes.push(`${item.container}: ${pastTense(item.action)}`);
  for (const entry of lost) {
    const message = dataLostMessage(entry, true);
    sink.emit({ step: `volume ${entry.volume}`, status: "warn", detail: message });
    progress.warnings.push(message);
  }
  await recordVolumes(stack, item);
  return id;
}

/**
 * The data volumes a create or recreate is about to make although dify-local has used them
 * before: someone deleted them (with the container, as Docker requires), and their data with them.
 */
async function lostVolumes(stack: Stack, item: PlanItem): Promise<VolumeEntry[]> {
  if (item.action !== "create" && item.action !== "recreate") return [];
  const entries: VolumeEntry[] = [];
  for (const v of item.spec.volumes) {
    const entry = await (await stack.volumes()).get(v.volume);
    if (entry) entries.push(entry);
  }
  if (entries.length === 0) return [];
  const existing = await stack.runtime.existingVolumes(entries.map((e) => e.volume));
  return entries.filter((e) => !existing.has(e.volume));
}

/** Remembers the data volumes the service's container now uses (see `VolumeRecord`). */
async function recordVolumes(stack: Stack, item: PlanItem): Promise<void> {
  const made = item.action === "create" || item.action === "recreate";
  const record = await stack.volumes();
  for (const v of item.spec.volumes) {
    if (made || item.observed?.mounts.some((m) => m.name === v.volume)) await record.add(v.volume, item.component);
  }
}

async function convergeCluster(
  stack: Stack,
  options: { alias: HostAlias; patchContainerd: boolean },
  registry: Promise<unknown> | undefined,
  changes: string[],
): Promise<void> {
  const ctx = { cluster: stack.cluster(), ...options, signal: stack.signal };
  for (const action of CLUSTER_CREATE_ACTIONS) {
    stack.checkpoint();
    changes.push(...(await runAction(stack.sink, action, ctx)));
  }
  // The wiring needs the registry container as well as the nodes.
  await registry;
  stack.checkpoint();
  const wired = await Promise.all(CLUSTER_WIRE_ACTIONS.map((action) => runAction(stack.sink, action, ctx)));
  changes.push(...wired.flat());
  for (const action of CLUSTER_ADDON_ACTIONS) {
    stack.checkpoint();
    changes.push(...(await runAction(stack.sink, action, ctx)));
  }
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
