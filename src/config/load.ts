import { resolve } from "node:path";
import { isMap, isNode, LineCounter, parseDocument, type Document } from "yaml";
import type { z, ZodIssue } from "zod";
import { UserError } from "../errors.js";
import { aliasProblem, deepMerge, isPlainObject, yamlProblem } from "../util/index.js";
import { interpolateEnv, keyPath } from "./interpolate.js";
import { readConfigFile } from "./read.js";
import { configSchema, type Config, type ConfigInput } from "./schema.js";

/** A configuration schema: the built-in one, or one composed with a caller's own services. */
export type ConfigSchema = z.ZodType<Config, z.ZodTypeDef, unknown>;

/** The file `up` and friends read when `--config` is not given and it exists in the working directory. */
export const DEFAULT_CONFIG_FILE = "dify-local.yaml";

export interface LoadConfigOptions {
  /** An explicit file (`--config`); it must exist. */
  file?: string;
  /** Where to look for `dify-local.yaml` when no file is given. */
  cwd?: string;
  /** Values layered over the file (from flags or a test), validated like the file. */
  overrides?: ConfigInput;
  /** The schema to validate with; default: the built-in services'. */
  schema?: ConfigSchema;
  /**
   * Values layered under the file, given the configuration validated without them (generated
   * credentials, which depend on its container names): a value the file or the overrides set wins.
   */
  underlay?: (config: Config) => Promise<ConfigInput | undefined>;
  /** Where `${NAME}` in the file's values is read from; default: process.env. */
  env?: NodeJS.ProcessEnv;
}

/** A loaded configuration and where it came from. */
export interface LoadedConfig {
  config: Config;
  /** The file read, or undefined when the seed's defaults were used alone. */
  source: string | undefined;
}

/**
 * Reads, merges and validates the configuration. Throws {@link UserError} (exit 2) naming the key
 * path, and the line for YAML files, on any problem; it never touches the system.
 */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const explicit = options.file !== undefined;
  if (options.file !== undefined && options.file.trim() === "") {
    throw new UserError("--config was given an empty file name", { key: "--config", hint: "pass the path of a YAML file" });
  }
  const path = resolve(options.cwd ?? process.cwd(), options.file ?? DEFAULT_CONFIG_FILE);
  const text = await readConfigFile(path, explicit);
  const schema = options.schema ?? configSchema;
  if (text === undefined) {
    const input = options.overrides ?? {};
    const first = parseConfig(input, schema);
    const under = await options.underlay?.(first);
    return { config: under ? parseConfig(deepMerge(under, input), schema) : first, source: undefined };
  }
  const env = options.env ?? process.env;
  const first = parseConfigText(text, path, options.overrides, schema, undefined, env);
  const under = await options.underlay?.(first);
  return { config: under ? parseConfigText(text, path, options.overrides, schema, under, env) : first, source: path };
}

/** Validates an in-memory configuration object (the library entry point for tests and scripts). */
export function parseConfig(input: unknown, schema: ConfigSchema = configSchema): Config {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  throw issuesToError(result.error.issues, undefined);
}

/** How many nodes aliases may expand to (the yaml library's `maxAliasCount`): enough for any real config, far too few for an alias bomb. */
export const MAX_ALIAS_COUNT = 100;

/**
 * Parses YAML text, replaces `${NAME}` in its values from `env` (see {@link interpolateEnv}) and
 * validates it; errors carry `file:line` and the key path.
 */
export function parseConfigText(
  text: string,
  file = "<config>",
  overrides?: ConfigInput,
  schema: ConfigSchema = configSchema,
  underlay?: ConfigInput,
  env: NodeJS.ProcessEnv = process.env,
): Config {
  const data = parseYaml(text, file);
  const where = { doc: data.doc, lineCounter: data.lineCounter, file };
  const own = interpolateEnv(data.value, env, (path) => `${file}${lineOf(where, path)}: `) as Record<string, unknown>;
  const value = underlay ? deepMerge(underlay, own) : own;
  const merged = overrides ? deepMerge(value, overrides) : value;
  const result = schema.safeParse(merged);
  if (result.success) return result.data;
  throw issuesToError(result.error.issues, where);
}

/**
 * One YAML document, as a mapping. Syntax errors, duplicate keys, a second document, tabs as
 * indentation and unknown tags are errors with `file:line:col` (and the key path where there is
 * one); aliases expand to at most {@link MAX_ALIAS_COUNT} nodes.
 */
function parseYaml(text: string, file: string): { value: Record<string, unknown>; doc: Document.Parsed; lineCounter: LineCounter } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, strict: true });
  const syntax = yamlProblem(doc, lineCounter, file, true);
  if (syntax) throw new UserError(syntax.text, { key: syntax.path ?? "--config" });
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) ?? {};
  } catch {
    // toJS throws only on aliases: one with no anchor, or more expansion than maxAliasCount.
    const problem = aliasProblem(doc, lineCounter, file, MAX_ALIAS_COUNT);
    throw new UserError(problem.text, { key: problem.path ?? "--config" });
  }
  if (!isPlainObject(value)) {
    throw new UserError(`${file}:1: the config must be a mapping of keys (bind, postgres, redis, ...), not ${describeValue(value)}`, {
      key: "<root>",
    });
  }
  return { value, doc, lineCounter };
}

function describeValue(value: unknown): string {
  if (Array.isArray(value)) return "a list";
  return `a ${typeof value === "object" ? "value" : typeof value}`;
}

function issuesToError(issues: ZodIssue[], where: { doc: Document; lineCounter: LineCounter; file: string } | undefined): UserError {
  const lines = issues.map((issue) => {
    const keyPath = formatPath(issue);
    const loc = where ? `${where.file}${lineOf(where, fullPath(issue))}: ` : "";
    return `${loc}${keyPath}: ${describe(issue)}`;
  });
  const firstIssue = issues[0];
  return new UserError(`invalid configuration:\n  ${lines.join("\n  ")}`, {
    key: firstIssue ? formatPath(firstIssue) : "<root>",
    hint: "see the configuration reference in the README",
  });
}

/** The issue's path; for an unknown key, down to that key. */
function fullPath(issue: ZodIssue): Array<string | number> {
  return issue.code === "unrecognized_keys" ? [...issue.path, issue.keys[0] ?? ""] : issue.path;
}

function formatPath(issue: ZodIssue): string {
  return keyPath(fullPath(issue));
}

function describe(issue: ZodIssue): string {
  if (issue.code === "unrecognized_keys") {
    return `unknown key${issue.keys.length > 1 ? `s ${issue.keys.join(", ")}` : ""}`;
  }
  if (issue.code === "invalid_type") {
    // A fraction where a whole number belongs: the schema's own words ("must be a whole number").
    if (issue.expected === "integer") return issue.message;
    if (issue.received === "undefined") return "is required";
    return `expected ${issue.expected}, got ${issue.received}`;
  }
  if (issue.code === "invalid_enum_value") return `must be one of ${issue.options.join(", ")} (got ${JSON.stringify(issue.received)})`;
  return issue.message;
}

function lineOf(where: { doc: Document; lineCounter: LineCounter }, path: ReadonlyArray<string | number>): string {
  // Walk down to the deepest node that exists, so a missing key points at its parent's line.
  for (let depth = path.length; depth >= 0; depth--) {
    const sub = path.slice(0, depth);
    const node = sub.length === 0 ? where.doc.contents : where.doc.getIn(sub, true);
    if (isNode(node) && node.range) {
      // For a key under a map, point at the key rather than its value when we can.
      const parent = sub.length > 0 ? (sub.length === 1 ? where.doc.contents : where.doc.getIn(sub.slice(0, -1), true)) : undefined;
      let offset = node.range[0];
      if (isMap(parent)) {
        const pair = parent.items.find((item) => isNode(item.key) && (item.key as { value?: unknown }).value === sub[sub.length - 1]);
        if (pair && isNode(pair.key) && pair.key.range) offset = pair.key.range[0];
      }
      return `:${where.lineCounter.linePos(offset).line}`;
    }
  }
  return "";
}
