import type { z } from "zod";
import type { Check, Finding } from "../engine/index.js";
import type { ChartVersion, EnvSection, ValuesTree } from "../helm/index.js";
import type { ContainerSpec, ObservedContainer, PortBinding, Runtime } from "../runtime/index.js";
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

/** Where a credential was read: the live container (the truth), or the config (no container to read). */
export type FactSource = "container" | "config";

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
  /** One readiness attempt, a real protocol round trip; throws with the reason while not ready. */
  probe(ctx: ServiceContext<S, L>): Promise<void>;
  /** Idempotent setup after readiness; returns what it changed (empty when nothing). */
  init?(ctx: ServiceContext<S, L>): Promise<string[]>;
  /**
   * Before `up` replaces its container with one of other credentials: changes them in place where
   * the service keeps them in its data (PostgreSQL's volume keeps the password it was initialised
   * with), through the running container's current ones; returns what it changed (empty when
   * nothing needed it). When it cannot, throws a `ConflictError` with the steps and changes nothing.
   */
  rotate?(ctx: ServiceContext<S, L>): Promise<string[]>;
  /** Its verify checks, beyond "the container runs". */
  checks(ctx: ServiceContext<S, L>): Promise<Check[]>;
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
  /** Starts loading its client library (see {@link ServiceDefinition.clients}); a failure shows at first use instead. */
  preload(): void;
  probe(ctx: ErasedContext): Promise<void>;
  /** Present when the service has an idempotent init after readiness. */
  init?(ctx: ErasedContext): Promise<string[]>;
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
}

/** A service's snapshot capability over the whole configuration (see {@link ServiceDefinition.snapshot}). */
export interface ErasedSnapshot {
  save: (ctx: ErasedContext, out: SnapshotWriter) => Promise<void>;
  replaces: (config: StackConfig) => string;
  restore: (ctx: ErasedContext, input: SnapshotReader) => Promise<string[]>;
}

/** What the stack hands a service: the whole config, the engine, and the container if any. */
export interface ErasedContext {
  config: StackConfig;
  runtime: Runtime;
  host: string;
  container: ObservedContainer | undefined;
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
  type S = z.output<Schema>;
  const section = (config: StackConfig): S => config[def.name] as S;
  const stackOf = (config: StackConfig): StackSettings => ({ bind: config.bind, readyTimeout: config.readyTimeout });
  const liveOf = (settings: S, container: ObservedContainer | undefined): L =>
    def.live ? def.live(settings, container) : (undefined as L);
  const context = (ctx: ErasedContext): ServiceContext<S, L> => {
    const settings = section(ctx.config);
    const { runtime, host, container } = ctx;
    return { settings, stack: stackOf(ctx.config), live: liveOf(settings, container), runtime, host, container };
  };
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
    hostPorts: (config) => ports(config).map((p) => ({ key: p.key, port: p.hostPort })),
    credentialSource: (config, container) => (def.live ? def.live(section(config), container).source : undefined),
    startFirst: def.startFirst ?? false,
    preload: () => void def.clients?.().catch(() => undefined),
    probe: (ctx) => def.probe(context(ctx)),
    ...(init ? { init: (ctx: ErasedContext) => init(context(ctx)) } : {}),
    ...(rotate ? { rotate: (ctx: ErasedContext) => rotate(context(ctx)) } : {}),
    checks: (ctx) => def.checks(context(ctx)),
    endpoints: (config) => def.endpoints(section(config), { host: probeHost(config), cluster: clusterHost(config) }),
    credentials: (config, container) => def.credentials?.(section(config), liveOf(section(config), container)) ?? [],
    secrets(config, container) {
      const s = section(config);
      const credentials = [...(def.credentials?.(s, liveOf(s, undefined)) ?? []), ...(def.credentials?.(s, liveOf(s, container)) ?? [])];
      return [...new Set([...secretFieldValues(def.schema, s), ...credentials.filter((c) => c.secret).map((c) => c.value)])];
    },
    defaultSecrets() {
      const defaults = def.schema.safeParse({});
      return defaults.success ? secretFieldValues(def.schema, defaults.data) : [];
    },
    values(config, container, options) {
      const s = section(config);
      return def.values?.(s, liveOf(s, container), options);
    },
    env(config, container, host) {
      const s = section(config);
      return def.env?.(s, liveOf(s, container), host) ?? [];
    },
    doctor: async (ctx) => (def.doctor ? def.doctor(context(ctx)) : []),
    ...(def.snapshot ? { snapshot: erasedSnapshot(def.snapshot, context, section) } : {}),
  };
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
