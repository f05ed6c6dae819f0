import { Cluster, Kind, type KindRunner } from "../cluster/index.js";
import {
  configSchema,
  configSchemaFor,
  loadConfig,
  parseConfig,
  type Config,
  type ConfigInput,
  type ConfigSchema,
} from "../config/index.js";
import { redactingSink, silentSink, type EventSink } from "../engine/index.js";
import { connectDocker, describeMount, mountAt, Runtime, type EngineAddress, type ObservedContainer } from "../runtime/index.js";
import { SERVICES, probeHost, type ErasedContext, type HostPort, type Service } from "../services/index.js";
import { deepMerge, Redactor } from "../util/index.js";
import { learnSecrets } from "./redaction.js";

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
}

/** A validated configuration, where it came from, and the services it configures. */
export interface ResolvedConfig {
  config: Config;
  source: string | undefined;
  /** Every service of the stack, enabled or not, in order. */
  services: readonly Service[];
}

/** Validates the configuration (bad input never reaches the engine); touches nothing. */
export async function resolveConfig(options: StackOptions): Promise<ResolvedConfig> {
  const services = options.services ?? SERVICES;
  // A caller's own services add their sections; the built-in ones keep their types.
  const schema: ConfigSchema = options.services
    ? (configSchemaFor(Object.fromEntries(services.map((s) => [s.name, s]))) as unknown as ConfigSchema)
    : configSchema;
  if (options.config !== undefined && options.configFile === undefined) {
    return { config: parseConfig(merged(options.config, options.overrides), schema), source: undefined, services };
  }
  const loaded = await loadConfig({
    ...(options.configFile !== undefined ? { file: options.configFile } : {}),
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    overrides: merged(options.config ?? {}, options.overrides),
    schema,
  });
  return { ...loaded, services };
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
  private observed: Promise<Map<string, ObservedContainer>> | undefined;
  private clusterHandle: Cluster | undefined;

  private constructor(
    readonly resolved: ResolvedConfig,
    readonly runtime: Runtime,
    readonly engine: EngineAddress,
    readonly sink: EventSink,
    private readonly kind: Kind,
    /** Masks every secret the command has learnt (the config's, the containers'). */
    readonly redactor: Redactor,
  ) {
    this.enabled = resolved.services.filter((s) => s.settings(resolved.config).enabled);
    this.host = probeHost(resolved.config);
  }

  /** Validates the configuration first (bad input never reaches the engine), then connects to Docker. */
  static async open(options: StackOptions): Promise<Stack> {
    const redactor = options.redactor ?? new Redactor();
    const resolved = await resolveConfig(options);
    learnSecrets(redactor, resolved.services, resolved.config);
    const { docker, engine } = await connectDocker(options.env ?? process.env);
    // Every event leaves through the redactor: a step's detail may quote a log line or a command.
    const sink = redactingSink(options.sink ?? silentSink, (text) => redactor.redact(text));
    return new Stack(resolved, new Runtime(docker), engine, sink, new Kind(options.kind), redactor);
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
    this.observed ??= this.runtime.observe(this.services.map((s) => s.settings(this.config).container)).then((found) => {
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
  contextFor(container: ObservedContainer | undefined): ErasedContext {
    return { config: this.config, runtime: this.runtime, host: this.host, container };
  }

  /** The host ports pods must reach: every enabled service's. */
  hostPorts(): HostPort[] {
    return this.enabled.flatMap((s) => s.hostPorts(this.config));
  }

  /** The kind cluster's handle (one per command, so its lookups are shared). */
  cluster(): Cluster {
    this.clusterHandle ??= new Cluster(this.config, this.runtime, this.kind);
    return this.clusterHandle;
  }

  /** The kind binary as this command runs it (for commands that need it without an engine). */
  get kindTool(): Kind {
    return this.kind;
  }
}
