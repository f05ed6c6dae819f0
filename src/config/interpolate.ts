import { UserError } from "../errors.js";

/** `${NAME}` (a variable of the environment) or `$${` (a literal `${`). */
const REFERENCE = /\$\$\{|\$\{([^}]*)\}/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Where a value sits in the file, for messages: the key path and `file:line`. */
export type Locate = (path: ReadonlyArray<string | number>) => string;

/**
 * Replaces `${NAME}` in every string of a parsed config file with that environment variable, so
 * secrets can stay out of the file (`password: ${DIFY_PG_PASSWORD}`); `$${` stands for a literal
 * `${`. A variable that is unset, or a reference that is not a variable name, is a UserError naming
 * the key (exit 2), before anything else happens. An empty variable is a value like any other.
 * Keys are never interpolated. Pure: returns a new tree.
 */
export function interpolateEnv(
  value: unknown,
  env: NodeJS.ProcessEnv,
  locate: Locate = () => "",
  path: Array<string | number> = [],
): unknown {
  if (typeof value === "string") return interpolateString(value, env, locate, path);
  if (Array.isArray(value)) return value.map((v, i) => interpolateEnv(v, env, locate, [...path, i]));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateEnv(v, env, locate, [...path, k])]));
  }
  return value;
}

function interpolateString(text: string, env: NodeJS.ProcessEnv, locate: Locate, path: ReadonlyArray<string | number>): string {
  if (!text.includes("$")) return text;
  return text.replace(REFERENCE, (match, name: string | undefined) => {
    if (name === undefined) return "${";
    const key = keyPath(path);
    if (!NAME.test(name))
      throw new UserError(`${locate(path)}${key}: "\${${name}}" is not an environment variable reference (write $\${ for a literal \${)`, {
        key,
      });
    const found = env[name];
    if (found === undefined)
      throw new UserError(`${locate(path)}${key}: the environment variable ${name} is not set`, {
        key,
        hint: `export ${name}=... before running dify-local, or write the value in the file`,
      });
    return found;
  });
}

/** `postgres.password`, `postgres.databases[1]`. */
export function keyPath(path: ReadonlyArray<string | number>): string {
  if (path.length === 0) return "<root>";
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");
}
