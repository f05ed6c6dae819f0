import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { existingContext } from "../config/index.js";
import { ConflictError, UserError } from "../errors.js";
import {
  DEFAULT_CHART,
  ENV_MARKER,
  VALUES_MARKER,
  detectChart,
  loadOrCreateSecrets,
  loadValuesFile,
  mergeValuesFile,
  parseChart,
  userConfigDir,
  valuesYaml,
  writePrivateFile,
  type ChartVersion,
  type MergeResult,
} from "../helm/index.js";
import type { FactSource } from "../services/index.js";
import { credentialSources, renderStackEnv, renderValues, Stack, valuesWarnings, type StackOptions } from "../stack/index.js";

export interface ValuesOptions extends StackOptions {
  /** Chart line, `--chart`: "3.7" or "3.9" ("3.9.1", "3.9.x" too). Default: what the `--merge` file uses, else 3.9. */
  chart?: string;
  /** `--format`: "yaml" (Helm values, default) or "env" (the community edition's .env names). */
  format?: string;
  /** `-o FILE`: write the rendered text there (mode 0600) instead of returning it. Overwrites only a file dify-local rendered. */
  output?: string;
  /** `--merge FILE`: set the owned keys in this existing values.yaml, keeping everything else; yaml only. */
  merge?: string;
  /** Where `secrets.json` lives; default `$DIFY_LOCAL_CONFIG_DIR`, `$XDG_CONFIG_HOME/dify-local` or `~/.config/dify-local` (from `env`). */
  secretsDir?: string;
}

export interface ValuesResult {
  chart: ChartVersion;
  /** Where the chart line came from: the flag, the merged file's keys, or the default. */
  chartFrom: "flag" | "file" | "default";
  format: "yaml" | "env";
  /** The rendered text, when it was not written to a file (it holds secrets: the caller asked for it). */
  text?: string;
  /** The file `-o` wrote. */
  written?: string;
  merged?: MergeResult;
  /** Where each credential was read: the live container, or the config when there was no container. */
  sources: Record<string, FactSource>;
  /** yaml only: the file holding the generated chart secrets, and whether this run generated them. */
  secrets?: { file: string; created: boolean };
  /** Things the user should know (a service read from the config, a stopped container); one line each. */
  warnings: string[];
  /** With `cluster.context`: where the release belongs (`helm install -n NAMESPACE --kube-context CONTEXT`). */
  cluster?: { context: string; namespace: string };
}

/**
 * Renders the infrastructure part of the Dify EE Helm values (or the community .env) from the
 * running stack: MinIO's, PostgreSQL's, Redis's and Qdrant's credentials as their containers have
 * them, ports from the config, and chart secrets generated once and kept in a 0600 file. Returns
 * the text, or writes it with `output`, or sets the owned keys in an existing values.yaml with
 * `merge` (other keys and comments untouched, a backup written first).
 */
export async function values(options: ValuesOptions = {}): Promise<ValuesResult> {
  // Flags and files first: bad input never reaches the engine.
  const target = await parseTarget(options);
  const { format, chart, mergeFile, outputFile } = target;
  const stack = await Stack.open(options);
  const live = { services: stack.services, config: stack.config, observed: await stack.observe() };
  const context = existingContext(stack.config);
  const base = {
    chart,
    chartFrom: target.chartFrom,
    format,
    sources: credentialSources(live),
    warnings: valuesWarnings(live),
    ...(context ? { cluster: { context, namespace: stack.config.cluster.namespace } } : {}),
  };

  if (format === "env") {
    const text = renderStackEnv(live);
    if (!outputFile) return { ...base, text };
    await writePrivateFile(outputFile, text, "-o");
    return { ...base, written: outputFile };
  }

  const loaded = await loadOrCreateSecrets(options.secretsDir ?? userConfigDir(options.env ?? process.env));
  stack.redactor.add(
    loaded.secrets.appSecretKey,
    loaded.secrets.enterpriseAppSecretKey,
    loaded.secrets.adminAPIsSecretKeySalt,
    loaded.secrets.passwordEncryptionKey,
  );
  const rendered = renderValues(live, { chart, secrets: loaded.secrets });
  const withSecrets = { ...base, secrets: { file: loaded.file, created: loaded.created } };
  if (mergeFile) return { ...withSecrets, merged: await mergeValuesFile(mergeFile, rendered) };
  const text = valuesYaml(rendered, chart);
  if (!outputFile) return { ...withSecrets, text };
  await writePrivateFile(outputFile, text, "-o");
  return { ...withSecrets, written: outputFile };
}

/** What to render and where, from the flags (and the merged file's chart line); throws UserError or ConflictError, changing nothing. */
async function parseTarget(options: ValuesOptions): Promise<{
  format: "yaml" | "env";
  chart: ChartVersion;
  chartFrom: ValuesResult["chartFrom"];
  mergeFile: string | undefined;
  outputFile: string | undefined;
}> {
  const format = parseFormat(options.format);
  const flagChart = options.chart === undefined ? undefined : parseChart(options.chart);
  if (options.chart !== undefined && flagChart === undefined) {
    throw new UserError(`--chart must be 3.7 or 3.9 (got "${options.chart}")`, { key: "--chart" });
  }
  if (options.merge !== undefined && format === "env") {
    throw new UserError("--merge updates a Helm values.yaml and cannot take --format env", {
      key: "--merge",
      hint: "use -o FILE to write the .env",
    });
  }
  if (options.merge !== undefined && options.output !== undefined) {
    throw new UserError("--merge and -o cannot be used together: --merge writes the file it updates", { key: "--merge" });
  }
  const cwd = options.cwd ?? process.cwd();
  const mergeFile = options.merge === undefined ? undefined : resolve(cwd, options.merge);
  const outputFile = options.output === undefined ? undefined : resolve(cwd, options.output);
  if (outputFile) await refuseForeignFile(outputFile, format);
  // The merged file is parsed before anything else happens, so a YAML error changes nothing.
  const fileChart = mergeFile ? detectChart((await loadValuesFile(mergeFile)).data) : undefined;
  const chart = flagChart ?? fileChart ?? DEFAULT_CHART;
  return { format, chart, chartFrom: flagChart ? "flag" : fileChart ? "file" : "default", mergeFile, outputFile };
}

function parseFormat(format: string | undefined): "yaml" | "env" {
  if (format === undefined || format === "yaml" || format === "env") return format ?? "yaml";
  throw new UserError(`--format must be yaml or env (got "${format}")`, { key: "--format" });
}

/** `-o` replaces a file only when dify-local rendered it: pointing it at a full values.yaml must not wipe the user's keys. */
async function refuseForeignFile(file: string, format: "yaml" | "env"): Promise<void> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw new UserError(`cannot write ${file} (-o): ${(err as Error).message}`, { key: "-o" });
  }
  const marker = format === "env" ? ENV_MARKER : VALUES_MARKER;
  if (text === "" || text.startsWith(marker)) return;
  throw new ConflictError(`${file} exists and was not rendered by dify-local; -o would replace it`, {
    hint:
      format === "yaml"
        ? `to update it in place keeping your other keys, use --merge ${file}; or choose another -o file`
        : "choose another -o file, or remove it first",
  });
}
