import { loadConfig, parseConfig, type Config, type ConfigInput } from "../config/index.js";
import { silentSink, type EventSink } from "../engine/index.js";
import { connectDocker, Runtime, type EngineAddress } from "../runtime/index.js";

/** Options every command takes. */
export interface CommandOptions {
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
}

/** What a command runs with. */
export interface Context {
  config: Config;
  configSource: string | undefined;
  runtime: Runtime;
  engine: EngineAddress;
  sink: EventSink;
}

/** Validates the configuration first (bad input never reaches the engine), then connects to Docker. */
export async function resolveConfig(options: CommandOptions): Promise<{ config: Config; source: string | undefined }> {
  if (options.config !== undefined && options.configFile === undefined) {
    return { config: parseConfig(mergeInputs(options.config, options.overrides)), source: undefined };
  }
  const overrides = mergeInputs(options.config ?? {}, options.overrides);
  return loadConfig({
    ...(options.configFile !== undefined ? { file: options.configFile } : {}),
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    overrides,
  });
}

export async function openContext(options: CommandOptions): Promise<Context> {
  const { config, source } = await resolveConfig(options);
  const { docker, engine } = await connectDocker(options.env ?? process.env);
  return { config, configSource: source, runtime: new Runtime(docker), engine, sink: options.sink ?? silentSink };
}

function mergeInputs(a: ConfigInput, b: ConfigInput | undefined): ConfigInput {
  if (!b) return a;
  const out: Record<string, unknown> = { ...(a as Record<string, unknown>) };
  for (const [k, v] of Object.entries(b as Record<string, unknown>)) {
    const prev = out[k];
    out[k] = prev && typeof prev === "object" && !Array.isArray(prev) && v && typeof v === "object" && !Array.isArray(v) ? { ...prev, ...v } : v;
  }
  return out as ConfigInput;
}
