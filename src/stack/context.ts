import { dirname } from "node:path";
import { Cluster, ExistingCluster, Kind, type KindRunner } from "../cluster/index.js";
import {
  clusterMode,
  configSchema,
  configSchemaFor,
  existingContext,
  type ClusterMode,
  loadConfig,
  parseConfig,
  type Config,
  type ConfigInput,
  type ConfigSchema,
} from "../config/index.js";
import { redactingSink, silentSink, type EventSink } from "../engine/index.js";
import { DifyLocalError, EnvironmentError, InterruptedError, OperationError, SubprocessError, messageOf } from "../errors.js";
import {
  connectDocker,
  describeMount,
  ENGINE_HINT,
  mountAt,
  Runtime,
  type EngineAddress,
  type EngineConnecting,
  type ObservedContainer,
} from "../runtime/index.js";
import { SERVICES, probeHost, type ErasedContext, type HostPort, type Service } from "../services/index.js";
import { deepMerge, Redactor, timed, withTimeout } from "../util/index.js";
import { chooseCredentials, type CredentialsChoice } from "./credentials.js";
import { acquireLock, lockPath } from "./lock.js";
import { learnSecrets } from "./redaction.js";
import { VolumeRecord } from "./volumes.js";

/** Options every command takes. */
export interface StackOptions {
  /** A configuration object (library use); validated like a file. Used alone unless `configFile` is set. */
  config?: ConfigInput;
  /** A YAML config file (`--config`); without it `dify-local.yaml` in `cwd` is read when present. */
  configFile?: string;
  /** Values layered over the file (from CLI flags). */
  overrides?: ConfigInput;
  cwd?: string;
  /** Where progress events go; silent by default. */
  sink?: EventSink;
  /** Environment for engine discovery (DOCKER_HOST); defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** The services of the stack; default: the built-in five. A caller may add its own (see `defineService`). */
  services?: readonly Service[];
  /** How `kind` is run; default: the `kind` binary on PATH. */
  kind?: KindRunner;
  /**
   * The command's one redaction point: it learns every configured and live secret, and events and
   * errors pass through it. Pass your own to mask what you print with the same secrets; default: a
   * new one per command.
   */
  redactor?: Redactor;
  /**
   * Interrupts the command: it stops between steps (a wait for readiness or for the lock at once),
   * finishes no new step, and rejects with an {@link InterruptedError} saying what it had done.
   */
  signal?: AbortSignal;
  /**
   * A connection to the engine already under way (`connectEarly`, with this `env`), used once the
   * configuration is valid; default: connect then. The CLI starts it before loading the command.
   */
  connecting?: EngineConnecting;
}

/** Options of the commands that change the stack (`up`, `down`): one at a time per engine and config. */
export interface ExclusiveOptions {
  /**
   * When another dify-local command holds the stack's lock: wait for it (default, with a progress
   * event naming it), or, with false, stop at once with a {@link ConflictError} naming its pid.
   */
  wait?: boolean;
}

/**
 * What identifies an engine for the lock and the volume record: its id (`docker info`), so every
 * address that reaches it (a socket, a symlink to it, a proxy) shares them; else its address.
 */
export function engineKey(id: string, address: string): string {
  return id ? `engine-id:${id}` : address;
}

/** A validated configuration, where it came from, and the services it configures. */
export interface ResolvedConfig {
  config: Config;
  source: string | undefined;
  /** Every service of the stack, enabled or not, in order. */
  services: readonly Service[];
  /** Whose passwords and keys the configuration uses: the seed's, or generated ones (and where they are kept). */
  credentials: CredentialsChoice;
}

/**
 * Validates the configuration (bad input never reaches the engine); touches nothing but, with
 * generated credentials asked for and none made yet, their file (unless `persistCredentials` is
 * false: a dry run). Generated values fill the secret keys the configuration does not set.
 */
export async function resolveConfig(options: StackOptions & { persistCredentials?: boolean }): Promise<ResolvedConfig> {
  const services = options.services ?? SERVICES;
  // A caller's own services add their sections; the built-in ones keep their types.
  const schema: ConfigSchema = options.services
    ? (configSchemaFor(Object.fromEntries(services.map((s) => [s.name, s]))) as unknown as ConfigSchema)
    : configSchema;
  let credentials: CredentialsChoice = { mode: "seed" };
  const underlay = async (config: Config): Promise<ConfigInput | undefined> => {
    credentials = await chooseCredentials(config, services, {
      ...(options.env ? { env: options.env } : {}),
      persist: options.persistCredentials ?? true,
    });
    return credentials.underlay;
  };
  if (options.config !== undefined && options.configFile === undefined) {
    const input = merged(options.config, options.overrides);
    const first = parseConfig(input, schema);
    const under = await underlay(first);
    return { config: under ? parseConfig(merged(under, input), schema) : first, source: undefined, services, credentials };
  }
  const loaded = await loadConfig({
    ...(options.configFile !== undefined ? { file: options.configFile } : {}),
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    overrides: merged(options.config ?? {}, options.overrides),
    schema,
    underlay,
    ...(options.env ? { env: options.env } : {}),
  });
  return { ...loaded, services, credentials };
}

function merged(a: ConfigInput, b: ConfigInput | undefined): ConfigInput {
  return b ? deepMerge(a, b) : a;
}

/**
 * What a command runs with: the validated configuration, the engine, the progress sink, and the
 * observations every step shares, each made once (the containers Docker has, the cluster handle).
 */
export class Stack {
  /** The enabled services, in order. */
  readonly enabled: readonly Service[];
  /** Where this machine reaches the published ports. */
  readonly host: string;
  private identity: Promise<string> | undefined;
  private observed: Promise<Map<string, ObservedContainer>> | undefined;
  private clusterHandle: Cluster | undefined;
  private existingHandle: ExistingCluster | undefined;

  private constructor(
    readonly resolved: ResolvedConfig,
    readonly runtime: Runtime,
    readonly engine: EngineAddress,
    readonly sink: EventSink,
    private readonly kind: Kind,
    /** Masks every secret the command has learnt (the config's, the containers'). */
    readonly redactor: Redactor,
    private readonly options: StackOptions,
  ) {
    this.enabled = resolved.services.filter((s) => s.settings(resolved.config).enabled);
    this.host = probeHost(resolved.config);
  }

  /** Validates the configuration first (bad input never reaches the engine), then connects to Docker. */
  static async open(
    options: StackOptions & { persistCredentials?: boolean; preloadClients?: boolean; identify?: boolean },
  ): Promise<Stack> {
    const redactor = options.redactor ?? new Redactor();
    const resolved = await timed("config", () => resolveConfig(options));
    options.signal?.throwIfAborted();
    learnSecrets(redactor, resolved.services, resolved.config);
    const { connecting } = options;
    const { docker, engine } = await timed("engine connect", () => connecting?.connected ?? connectDocker(options.env ?? process.env));
    // Every event leaves through the redactor: a step's detail may quote a log line or a command.
    const sink = redactingSink(options.sink ?? silentSink, (text) => redactor.redact(text));
    const stack = new Stack(resolved, new Runtime(docker), engine, sink, new Kind(options.kind), redactor, options);
    // The engine's id (`docker info`, slow to answer) is asked now, or was beside the ping by the
    // caller, so its wait overlaps the work below.
    if (connecting?.id) stack.identity = connecting.id.then((id) => engineKey(id, engine.address));
    else if (options.identify) void stack.engineIdentity();
    // The commands that talk to every service load their client libraries while the engine answers
    // (the container listing the caller asks for next, and the id): on the next turn of the event
    // loop, once those requests are on their way, since loading is CPU work on the one thread. Not
    // before the engine answered: without one the command ends at once, and loading them then made
    // that answer about 100 ms slower (measured).
    if (options.preloadClients) {
      const enabled = resolved.services.filter((s) => s.settings(resolved.config).enabled);
      setImmediate(() => enabled.forEach((s) => s.preload()));
    }
    return stack;
  }

  get env(): NodeJS.ProcessEnv {
    return this.options.env ?? process.env;
  }

  /** What identifies the engine for the lock and the volume record (see {@link engineKey}). */
  engineIdentity(): Promise<string> {
    this.identity ??= this.runtime
      .engineId()
      .catch(() => "")
      .then((id) => engineKey(id, this.engine.address));
    return this.identity;
  }

  /** The data volumes dify-local has used on this engine (to tell a deleted one from a new one). */
  async volumes(): Promise<VolumeRecord> {
    return VolumeRecord.of(this.env, await this.engineIdentity());
  }

  /** The caller's interruption signal, for the waits that take it. */
  get signal(): AbortSignal | undefined {
    return this.options.signal;
  }

  /** The interruption, when the command has been interrupted. */
  interruption(): InterruptedError | undefined {
    const signal = this.options.signal;
    if (!signal?.aborted) return undefined;
    const reason: unknown = signal.reason;
    return reason instanceof InterruptedError ? reason : new InterruptedError("interrupted");
  }

  /** Between steps: stops here when the command has been interrupted. */
  checkpoint(): void {
    const interrupted = this.interruption();
    if (interrupted) throw interrupted;
  }

  /**
   * Runs a command that changes the stack while holding the stack's lock (one per engine and
   * config), released on every way out. A failure while the engine no longer answers is reported
   * as that: an {@link EnvironmentError} (exit 3), not as whichever call noticed first.
   */
  async exclusive<T>(command: string, options: ExclusiveOptions, body: () => Promise<T>): Promise<T> {
    const engine = await timed("engine id", () => this.engineIdentity());
    const lock = await timed("lock", () =>
      acquireLock({
        engine,
        names: this.lockNames(),
        command,
        wait: options.wait ?? true,
        sink: this.sink,
        signal: this.options.signal,
        env: this.env,
      }),
    ).catch((err: unknown) => {
      throw this.interruption() ? this.interruptedDuring(command, "while waiting for the lock, before changing anything") : err;
    });
    try {
      return await body();
    } catch (err) {
      throw await this.explain(command, err);
    } finally {
      await lock.release();
    }
  }

  /** The lock file `up` and `down` take for this engine and config. */
  async lockPath(): Promise<string> {
    return lockPath(this.env, await this.engineIdentity(), this.lockNames());
  }

  /** What the lock is per, besides the engine: every container name of the config, and its cluster. */
  private lockNames(): string[] {
    const context = existingContext(this.config);
    const cluster = context ? `context:${context}/${this.config.cluster.namespace}` : `kind:${this.config.cluster.name}`;
    return [...this.services.map((s) => s.settings(this.config).container), cluster];
  }

  /** An interruption stays one; a failure of the engine's own is named as such. */
  private async explain(command: string, err: unknown): Promise<unknown> {
    const interrupted = this.interruption();
    // A command's own summary of what it did stays; otherwise say where it stopped.
    if (interrupted) return err instanceof InterruptedError && err !== interrupted ? err : this.interruptedDuring(command);
    const engineMayBeAt = !(err instanceof DifyLocalError) || err instanceof OperationError || err instanceof SubprocessError;
    if (!engineMayBeAt || (await this.engineAnswers())) return err;
    return new EnvironmentError(`the Docker engine at ${this.engine.address} stopped answering during ${command}: ${messageOf(err)}`, {
      hint: `${ENGINE_HINT} Once it answers again, run \`dify-local ${command}\` again: it continues from where it stopped.`,
      cause: err,
    });
  }

  /** The interruption, worded for `command`, with the way on. */
  private interruptedDuring(command: string, where = "it finished the step in flight and started no other"): InterruptedError {
    const interrupted = this.interruption() ?? new InterruptedError("interrupted");
    return new InterruptedError(`${command} ${interrupted.message}: ${where}`, {
      ...(interrupted.signal ? { signal: interrupted.signal } : {}),
      hint: `run \`dify-local ${command}\` again to finish`,
    });
  }

  /** Whether the engine answers a ping within 1.5 s. */
  async engineAnswers(): Promise<boolean> {
    try {
      await withTimeout("ping", 1500, this.runtime.ping());
      return true;
    } catch {
      return false;
    }
  }

  get config(): Config {
    return this.resolved.config;
  }

  /** Every service, enabled or not (values render them all). */
  get services(): readonly Service[] {
    return this.resolved.services;
  }

  /** The enabled services' containers as Docker has them, by name: one list call per command. */
  observe(): Promise<Map<string, ObservedContainer>> {
    this.observed ??= timed("observe containers", () =>
      this.runtime.observe(this.services.map((s) => s.settings(this.config).container)),
    ).then((found) => {
      // The containers' own secrets (an older password, a hand-made container's) are masked too.
      learnSecrets(this.redactor, this.services, this.config, found);
      return found;
    });
    return this.observed;
  }

  /** Forgets the observed containers, after a change made them stale. */
  forgetObserved(): void {
    this.observed = undefined;
  }

  /** A service's container as observed, if it exists. */
  async containerOf(service: Service): Promise<ObservedContainer | undefined> {
    return (await this.observe()).get(service.settings(this.config).container);
  }

  /** Where a service's data lives now: the mount at its data directory, in words ("host path /home/me/data/redis"). */
  dataOf(service: Service, container: ObservedContainer | undefined): string | undefined {
    const target = service.spec(this.config).volumes[0]?.target;
    const mount = container && target ? mountAt(container, target) : undefined;
    return mount ? describeMount(mount) : undefined;
  }

  /** What a service's probe, init and checks get. */
  contextFor(container: ObservedContainer | undefined, proven?: ReadonlyMap<string, string>): ErasedContext {
    return { config: this.config, runtime: this.runtime, host: this.host, container, ...(proven ? { proven } : {}) };
  }

  /** The host ports pods must reach: every enabled service's. */
  hostPorts(): HostPort[] {
    return this.enabled.flatMap((s) => s.hostPorts(this.config));
  }

  /** Which cluster the configuration uses: none, a kind cluster, or an existing one (`cluster.context`). */
  get clusterMode(): ClusterMode {
    return clusterMode(this.config);
  }

  /** With `cluster.context`: the existing cluster's handle (one per command); undefined otherwise. */
  existing(): ExistingCluster | undefined {
    const context = existingContext(this.config);
    if (context === undefined) return undefined;
    this.existingHandle ??= new ExistingCluster(context, this.config.cluster.namespace, this.env);
    return this.existingHandle;
  }

  /** The kind cluster's handle (one per command, so its lookups are shared). */
  cluster(): Cluster {
    this.clusterHandle ??= new Cluster(this.config, this.runtime, this.kind, {
      env: this.env,
      cwd: this.resolved.source ? dirname(this.resolved.source) : (this.options.cwd ?? process.cwd()),
    });
    return this.clusterHandle;
  }

  /** The kind binary as this command runs it (for commands that need it without an engine). */
  get kindTool(): Kind {
    return this.kind;
  }
}
