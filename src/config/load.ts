import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { isMap, isNode, LineCounter, parseDocument, type Document } from "yaml";
import type { z, ZodIssue } from "zod";
import { UserError } from "../errors.js";
import { deepMerge, isPlainObject, yamlError } from "../util/index.js";
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
  const path = resolve(options.cwd ?? process.cwd(), options.file ?? DEFAULT_CONFIG_FILE);
  let text: string | undefined;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "ENOENT" || explicit) {
      throw new UserError(`cannot read config file ${path}: ${code === "ENOENT" ? "no such file" : (err as Error).message}`, {
        key: "--config",
      });
    }
  }
  const schema = options.schema ?? configSchema;
  if (text === undefined) return { config: parseConfig(options.overrides ?? {}, schema), source: undefined };
  return { config: parseConfigText(text, path, options.overrides, schema), source: path };
}

/** Validates an in-memory configuration object (the library entry point for tests and scripts). */
export function parseConfig(input: unknown, schema: ConfigSchema = configSchema): Config {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  throw issuesToError(result.error.issues, undefined);
}

/** Parses YAML text and validates it; errors carry `file:line`. */
export function parseConfigText(text: string, file = "<config>", overrides?: ConfigInput, schema: ConfigSchema = configSchema): Config {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const syntax = yamlError(doc, lineCounter, file);
  if (syntax) throw new UserError(syntax, { key: "--config" });
  const data: unknown = doc.toJS() ?? {};
  if (!isPlainObject(data)) {
    throw new UserError(`${file}:1: the config must be a mapping of keys (bind, postgres, redis, ...)`, { key: "<root>" });
  }
  const merged = overrides ? deepMerge(data, overrides) : data;
  const result = schema.safeParse(merged);
  if (result.success) return result.data;
  throw issuesToError(result.error.issues, { doc, lineCounter, file });
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
  const path = fullPath(issue);
  if (path.length === 0) return "<root>";
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");
}

function describe(issue: ZodIssue): string {
  if (issue.code === "unrecognized_keys") {
    return `unknown key${issue.keys.length > 1 ? `s ${issue.keys.join(", ")}` : ""}`;
  }
  if (issue.code === "invalid_type") return `expected ${issue.expected}, got ${issue.received}`;
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
