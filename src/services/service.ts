import type { z } from "zod";
import type { Check, Finding } from "../engine/index.js";
import type { ChartVersion, EnvSection, ValuesTree } from "../helm/index.js";
import type { ContainerSpec, ObservedContainer, PortBinding, Runtime } from "../runtime/index.js";
import { externalFailure, networkFailure, type ExternalFacts, type Failure } from "./external.js";
import { secretFieldValues, type ServiceSettings } from "./fields.js";
import type { SnapshotCapability, SnapshotReader, SnapshotWriter } from "./snapshot.js";

/** The name pods use for the host (Docker Desktop provides it; on Linux dify-local wires it). */
export const CLUSTER_HOST = "host.docker.internal";

/** How long one protocol round trip of a probe or check may take. */
export const PROBE_TIMEOUT_MS = 3000;

/** The settings every service may read besides its own section. */
export interface StackSettings {
  /** Host address published ports bind to. */
  bind: string;
  /** Seconds to wait for a service to answer. */
  readyTimeout: number;
}

/** The validated configuration as the services see it: the global settings and a section per service. */
export type StackConfig = StackSettings & { readonly [section: string]: unknown };

/**
 * Where a credential was read: the live container (the truth), the config (no container to read),
 * or the service's `external` section (a server dify-local does not run; `up` verified it).
 */
export type FactSource = "container" | "config" | "external";

/** One way to reach a service, as seen from the host and from pods in the cluster. */
export interface Endpoint {
  label: string;
  host: string;
  cluster: string;
}

/** A credential shown by `info`; masked unless asked. */
export interface Credential {
  label: string;
  value: string;
  secret: boolean;
}

/** A host port a service publishes, with the config key it comes from. */
export interface HostPort {
  key: string;
  port: number;
}

/** A service's config section schema: any zod schema whose output has the common keys. */
export type SectionSchema = z.ZodType<ServiceSettings, z.ZodTypeDef, unknown>;

/** What a service's probe, init, checks and doctor get. */
export interface ServiceContext<S = ServiceSettings, L = undefined> {
  /** The service's own config section. */
  settings: S;
  stack: StackSettings;
  /** Its credentials as the running container has them (the config's when there is no container). */
  live: L;
  runtime: Runtime;
  /** The address this machine reaches published ports at. */
  host: string;
  /** The container as Docker reports it now, when it exists. */
  container: ObservedContainer | undefined;
  /** Set when the service is external: `host`, `settings` and `live` then carry the external section's facts. */
  external?: ExternalFacts;
  /** Checks a step of this command has just shown to pass, by check id, with the step (see `checkUnlessProven`). */
  proven?: ReadonlyMap<string, string>;
}

/**
 * An external service's section turned into what the container code reads: `up`, `status`,
 * `verify` and `doctor` then run the service's one probe, init and checks against it.
 */
export interface ExternalTarget<S, L> {
  host: string;
  port: number;
  /** TLS in words, for status and info: "TLS (sslmode require)", "no TLS". */
  tls: string;
  /** The section with the external connection facts in its own keys (port, user, password...). */
  settings: S;
  /** The credentials and TLS settings as the external section gives them (`source: "external"`). */
  live: L;
}

/**
 * How a service plugs in its external mode (see `withExternal` for its config key). Everything
 * else (no container, no volume, no port; `down` leaving it alone; values from its facts) follows.
 */
export interface ExternalMode<S, L> {
  /** The section's parsed `external` value (never undefined here) as a target. */
  connect(external: NonNullable<S extends { external?: infer E } ? E : never>, settings: S): ExternalTarget<S, L>;
  /** Its endpoints, when the container's shape does not fit (an https URL); default: `endpoints` at the external host. */
  endpoints?(target: ExternalTarget<S, L>): Endpoint[];
  /** The protocol's part of a failure (a refused password, TLS required); the network's part is classified for every service. */
  classify?(err: unknown): Failure | undefined;
}

/** Options a service's share of the Helm values depends on. */
export interface ValuesOptions {
  chart: ChartVersion;
  /** How pods reach the host services. */
  host: string;
}

/**
 * Everything dify-local knows about one container service, in one module (like testcontainers'
 * modules): its config section, its container, how to read its live credentials, its readiness
 * probe and idempotent init, its checks, what `info` shows, its share of the Helm values and of the
 * community `.env`, and its doctor findings. Written with {@link defineService}; everything else
 * (port validation, the cluster's port probes, `up`, `status`, `verify`, `info`, `values`,
 * `doctor`) derives from the list of services.
 */
export interface ServiceDefinition<Schema extends SectionSchema, L = undefined, S extends ServiceSettings = z.output<Schema>> {
  /** The config key and the container's component label. */
  name: string;
  title: string;
  /** Its config section, defaults included (see `serviceSchema`). */
  schema: Schema;
  container: {
    /** Where the data volume is mounted. */
    dataDir: string;
    /** Published ports; `key` is the section's key the host port comes from ("port"). */
    ports(settings: S): Array<{ containerPort: number; hostPort: number; key: string }>;
    env?(settings: S): Record<string, string>;
    /** Arguments after the image's entrypoint; omitted keeps the image's own. */
    cmd?(settings: S): string[];
  };
  /** Its credentials from the container (the seed's `docker exec ... env`), else from the config. */
  live?(settings: S, container: ObservedContainer | undefined): L & { source: FactSource };
  /**
   * The slowest service to become ready (PostgreSQL initialises its data directory): `up` starts
   * its container before the others', so their starts overlap its initialisation instead of
   * competing with its start for the engine.
   */
  startFirst?: boolean;
  /**
   * Loads the client library its probe, init and checks use. `status`, `verify` and `up` start it
   * early, so loading overlaps their waits on the engine; without it the library loads on first use.
   */
  clients?(): Promise<unknown>;
  /**
   * One readiness attempt, a real protocol round trip; throws with the reason while not ready. What
   * it resolves with is what it saw, handed by `up` to `init` as `seen` (PostgreSQL lists the
   * missing databases in the probe's own session, so a converged stack's init needs no login).
   */
  probe(ctx: ServiceContext<S, L>): Promise<unknown>;
  /** Idempotent setup after readiness; returns what it changed (empty when nothing). `seen`: what the probe just before it saw. */
  init?(ctx: ServiceContext<S, L>, seen?: unknown): Promise<string[]>;
  /**
   * Before `up` replaces its container with one of other credentials: changes them in place where
   * the service keeps them in its data (PostgreSQL's volume keeps the password it was initialised
   * with), through the running container's current ones; returns what it changed (empty when
   * nothing needed it). When it cannot, throws a `ConflictError` with the steps and changes nothing.
   */
  rotate?(ctx: ServiceContext<S, L>): Promise<string[]>;
  /** Its verify checks, beyond "the container runs". */
  checks(ctx: ServiceContext<S, L>): Promise<Check[]>;
  /**
   * The checks a successful `probe` or `init` of its container has just shown to pass, by making
   * the same call with the same credentials: `up` reports them as shown by that step instead of
   * asking again (the checks read `ctx.proven` through `checkUnlessProven`).
   */
  proves?: { probe?: readonly string[]; init?: readonly string[] };
  endpoints(settings: S, hosts: { host: string; cluster: string }): Endpoint[];
  credentials?(settings: S, live: L): Credential[];
  /** Its keys of the Dify EE Helm values (infrastructure part). */
  values?(settings: S, live: L, options: ValuesOptions): ValuesTree;
  /** Its sections of the community edition's `.env`. */
  env?(settings: S, live: L, host: string): EnvSection[];
  /** Its doctor findings, when its container runs. */
  doctor?(ctx: ServiceContext<S, L>): Promise<Finding[]>;
  /** Saving its data into a snapshot and restoring it (`dify-local snapshot`); services without data leave it out. */
  snapshot?: SnapshotCapability<ServiceContext<S, L>, S>;
  /** Its external mode, when its section takes `external: {...}` (see `withExternal`). */
  external?: ExternalMode<S, L>;
}

/**
 * A service as the rest of dify-local uses it: every method takes the whole configuration and
 * reads its own section from it. Made by {@link defineService}.
 */
export interface Service<Schema extends SectionSchema = SectionSchema> {
  readonly name: string;
  readonly title: string;
  readonly schema: Schema;
  settings(config: StackConfig): z.output<Schema>;
  spec(config: StackConfig): ContainerSpec;
  hostPorts(config: StackConfig): HostPort[];
  /** Where its credentials come from; undefined for a service without credentials. */
  credentialSource(config: StackConfig, container: ObservedContainer | undefined): FactSource | undefined;
  /** See {@link ServiceDefinition.startFirst}. */
  readonly startFirst: boolean;
  /** See {@link ServiceDefinition.proves}. */
  readonly proves: { probe: readonly string[]; init: readonly string[] };
  /** Starts loading its client library (see {@link ServiceDefinition.clients}); a failure shows at first use instead. */
  preload(): void;
  /** Resolves with what the probe saw (see {@link ServiceDefinition.probe}). */
  probe(ctx: ErasedContext): Promise<unknown>;
  /** Present when the service has an idempotent init after readiness. */
  init?(ctx: ErasedContext, seen?: unknown): Promise<string[]>;
  /** Present when the service keeps credentials in its data: see {@link ServiceDefinition.rotate}. */
  rotate?(ctx: ErasedContext): Promise<string[]>;
  checks(ctx: ErasedContext): Promise<Check[]>;
  endpoints(config: StackConfig): Endpoint[];
  credentials(config: StackConfig, container: ObservedContainer | undefined): Credential[];
  /**
   * Every secret value of the service, to be masked wherever dify-local prints: its section's
   * secret fields (see `secret`) and its secret credentials, as configured and as `container` has
   * them (the live ones may differ from the config's).
   */
  secrets(config: StackConfig, container: ObservedContainer | undefined): string[];
  /** The secret values its section has by default (the seed's passwords, such as devpassword). */
  defaultSecrets(): string[];
  values(config: StackConfig, container: ObservedContainer | undefined, options: ValuesOptions): ValuesTree | undefined;
  env(config: StackConfig, container: ObservedContainer | undefined, host: string): EnvSection[];
  doctor(ctx: ErasedContext): Promise<Finding[]>;
  /** Present when the service has data a snapshot keeps: see {@link ServiceDefinition.snapshot}. */
  snapshot?: ErasedSnapshot;
  /** Where the service is when its section says `external`; undefined for a container service. */
  external(config: StackConfig): ExternalFacts | undefined;
  /** A failure reaching the external service, classified (auth, TLS, unreachable, DNS) and naming its host:port. */
  externalFailure(config: StackConfig, err: unknown): Error;
}

/** A service's snapshot capability over the whole configuration (see {@link ServiceDefinition.snapshot}). */
export interface ErasedSnapshot {
  save: (ctx: ErasedContext, out: SnapshotWriter) => Promise<void>;
  replaces: (config: StackConfig) => string;
  restore: (ctx: ErasedContext, input: SnapshotReader) => Promise<string[]>;
  notRestoredExternal?: string;
  externalNote?: string;
}

/** What the stack hands a service: the whole config, the engine, and the container if any. */
export interface ErasedContext {
  config: StackConfig;
  runtime: Runtime;
  host: string;
  container: ObservedContainer | undefined;
  /** See {@link ServiceContext.proven}; a container's only. */
  proven?: ReadonlyMap<string, string>;
}

/**
 * The kubeconfig context of the existing cluster a configuration uses (`cluster.context`, with the
 * cluster enabled), or undefined for a kind cluster or none. The one place that rule is read.
 */
export function existingClusterContext(config: StackConfig): string | undefined {
  const cluster = config.cluster as { enabled?: unknown; context?: unknown } | undefined;
  return cluster?.enabled !== false && typeof cluster?.context === "string" ? cluster.context : undefined;
}

/**
 * The address pods reach this machine's services at: host.docker.internal (a kind cluster; Docker
 * Desktop resolves it, on Linux dify-local wires it), or, for an existing cluster
 * (`cluster.context`), the configured `publicHost`.
 */
export function clusterHost(config: StackConfig): string {
  const existing = existingClusterContext(config) !== undefined;
  return existing && typeof config.publicHost === "string" ? config.publicHost : CLUSTER_HOST;
}

/** Where this machine reaches ports published on `bind`. */
export function probeHost(stack: Pick<StackSettings, "bind">): string {
  return stack.bind === "0.0.0.0" ? "127.0.0.1" : stack.bind;
}

/**
 * Turns a definition into a {@link Service}. The one place a section is read out of the whole
 * configuration: the configuration schema is composed from the same `schema`, so the section is
 * there and valid once the configuration has parsed.
 */
export function defineService<Schema extends SectionSchema, L = undefined>(def: ServiceDefinition<Schema, L>): Service<Schema> {
  const r = readers(def);
  const { section, liveOf, target, facts, context } = r;
  const init = def.init?.bind(def);
  const rotate = def.rotate?.bind(def);
  const ports = (config: StackConfig): PortBinding[] =>
    def.container
      .ports(section(config))
      .map((p) => ({ containerPort: p.containerPort, hostPort: p.hostPort, hostIp: config.bind, key: `${def.name}.${p.key}` }));
  return {
    name: def.name,
    title: def.title,
    schema: def.schema,
    settings: section,
    spec: (config) => specOf(def, section(config), ports(config)),
    // An external service publishes nothing here: no port to reserve, check or wire into the cluster.
    hostPorts: (config) => (target(config) ? [] : ports(config).map((p) => ({ key: p.key, port: p.hostPort }))),
    credentialSource: (config, container) =>
      target(config) ? "external" : def.live ? def.live(section(config), container).source : undefined,
    startFirst: def.startFirst ?? false,
    proves: { probe: def.proves?.probe ?? [], init: def.proves?.init ?? [] },
    preload: () => void def.clients?.().catch(() => undefined),
    probe: (ctx) => def.probe(context(ctx)),
    ...(init ? { init: (ctx: ErasedContext, seen?: unknown) => init(context(ctx), seen) } : {}),
    ...(rotate ? { rotate: (ctx: ErasedContext) => rotate(context(ctx)) } : {}),
    checks: (ctx) => def.checks(context(ctx)),
    credentials: (config, container) => {
      const f = facts(config, container);
      return def.credentials?.(f.settings, f.live) ?? [];
    },
    secrets(config, container) {
      const s = section(config);
      const f = facts(config, container);
      const credentials = [
        ...(def.credentials?.(s, liveOf(s, undefined)) ?? []),
        ...(def.credentials?.(s, liveOf(s, container)) ?? []),
        ...(def.credentials?.(f.settings, f.live) ?? []),
      ];
      return [...new Set([...secretFieldValues(def.schema, s), ...credentials.filter((c) => c.secret).map((c) => c.value)])];
    },
    defaultSecrets() {
      const defaults = def.schema.safeParse({});
      return defaults.success ? secretFieldValues(def.schema, defaults.data) : [];
    },
    // Values come from the facts `up` verified: the container's, or the external section's (never the local defaults).
    values(config, container, options) {
      const f = facts(config, container);
      return def.values?.(f.settings, f.live, { ...options, host: f.host ?? options.host });
    },
    env(config, container, host) {
      const f = facts(config, container);
      return def.env?.(f.settings, f.live, f.host ?? host) ?? [];
    },
    doctor: async (ctx) => (def.doctor ? def.doctor(context(ctx)) : []),
    ...(def.snapshot ? { snapshot: erasedSnapshot(def.snapshot, context, section) } : {}),
    ...externalMethods(def, r),
  };
}

/**
 * How a definition reads the whole configuration: its section, its live credentials, and, when
 * the section says `external`, the target every context, value and endpoint is made from instead.
 */
function readers<Schema extends SectionSchema, L>(def: ServiceDefinition<Schema, L>) {
  type S = z.output<Schema>;
  const section = (config: StackConfig): S => config[def.name] as S;
  const stackOf = (config: StackConfig): StackSettings => ({ bind: config.bind, readyTimeout: config.readyTimeout });
  const liveOf = (settings: S, container: ObservedContainer | undefined): L =>
    def.live ? def.live(settings, container) : (undefined as L);
  const target = (config: StackConfig): ExternalTarget<S, L> | undefined => {
    const s = section(config);
    if (!def.external || s.external === undefined) return undefined;
    return def.external.connect(s.external as Parameters<ExternalMode<S, L>["connect"]>[0], s);
  };
  const context = (ctx: ErasedContext): ServiceContext<S, L> => {
    const { runtime, host, container } = ctx;
    const stack = stackOf(ctx.config);
    const t = target(ctx.config);
    // An external service: the same probe, init and checks, at its address with its credentials.
    if (t) return { settings: t.settings, stack, live: t.live, runtime, host: t.host, container: undefined, external: factsOf(t) };
    const settings = section(ctx.config);
    return { settings, stack, live: liveOf(settings, container), runtime, host, container, ...(ctx.proven ? { proven: ctx.proven } : {}) };
  };
  /** The settings and live facts the values, `.env` and credentials are made from. */
  const facts = (config: StackConfig, container: ObservedContainer | undefined): { settings: S; live: L; host?: string } => {
    const t = target(config);
    if (t) return { settings: t.settings, live: t.live, host: t.host };
    const s = section(config);
    return { settings: s, live: liveOf(s, container) };
  };
  return { section, liveOf, target, context, facts };
}

function factsOf<S, L>(t: ExternalTarget<S, L>): ExternalFacts {
  return { host: t.host, port: t.port, address: hostPort(t.host, t.port), tls: t.tls };
}

/** The methods that differ between a container service and an external one: where it is, its endpoints, its failures. */
function externalMethods<Schema extends SectionSchema, L>(
  def: ServiceDefinition<Schema, L>,
  r: ReturnType<typeof readers<Schema, L>>,
): Pick<Service, "external" | "externalFailure" | "endpoints"> {
  return {
    external: (config) => {
      const t = r.target(config);
      return t ? factsOf(t) : undefined;
    },
    externalFailure(config, err) {
      const t = r.target(config);
      if (!t) return err instanceof Error ? err : new Error(String(err));
      return externalFailure(def, factsOf(t), def.external?.classify?.(err) ?? networkFailure(err), err);
    },
    endpoints(config) {
      const t = r.target(config);
      if (!t) return def.endpoints(r.section(config), { host: probeHost(config), cluster: clusterHost(config) });
      // Pods reach an external service where this machine does: at its own address.
      return def.external?.endpoints?.(t) ?? def.endpoints(t.settings, { host: t.host, cluster: t.host });
    },
  };
}

/** `host:port`, with an IPv6 address in brackets. */
export function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** A definition's snapshot capability, reading its section and context out of the whole configuration. */
function erasedSnapshot<C, S>(
  snap: SnapshotCapability<C, S>,
  context: (ctx: ErasedContext) => C,
  section: (config: StackConfig) => S,
): ErasedSnapshot {
  return {
    save: (ctx, out) => snap.save(context(ctx), out),
    replaces: (config) => snap.replaces(section(config)),
    restore: (ctx, input) => snap.restore(context(ctx), input),
    ...(snap.notRestoredExternal ? { notRestoredExternal: snap.notRestoredExternal } : {}),
    ...(snap.externalNote ? { externalNote: snap.externalNote } : {}),
  };
}

/** A service's container spec: the common settings, the definition's environment and command, its ports and data volume. */
function specOf<Schema extends SectionSchema, L>(
  def: ServiceDefinition<Schema, L>,
  s: z.output<Schema>,
  ports: PortBinding[],
): ContainerSpec {
  return {
    component: def.name,
    name: s.container,
    image: s.image,
    env: def.container.env?.(s) ?? {},
    ...(def.container.cmd ? { cmd: def.container.cmd(s) } : {}),
    ports,
    volumes: [{ volume: s.volume, target: def.container.dataDir }],
    restart: s.restart,
  };
}
