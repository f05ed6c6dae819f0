/** The first line of every .env dify-local renders; `-o` only overwrites files that start with it. */
export const ENV_MARKER = "# Dify community edition .env, infrastructure part, rendered by dify-local";

/** One commented block of a `.env`: its title and its variables, in order. */
export interface EnvSection {
  title: string;
  entries: Array<[string, string]>;
  /** A comment line written after the variables. */
  note?: string;
}

/**
 * The same facts as the Helm values, under the community edition's `.env` names (docker/.env.example
 * and the plugin daemon's), for running Dify CE against the same local services; each service
 * gives its sections. Pure.
 */
export function renderEnv(sections: readonly EnvSection[]): string {
  const lines = [
    `${ENV_MARKER} from the running stack.`,
    "# Holds passwords: keep it private. Containers reach the host as host.docker.internal (Docker Desktop;",
    '# on Linux give each service `extra_hosts: ["host.docker.internal:host-gateway"]`).',
  ];
  for (const { title, entries, note } of sections) {
    lines.push("", `# ${title}`, ...entries.map(([k, v]) => `${k}=${envValue(v)}`), ...(note ? [`# ${note}`] : []));
  }
  return `${lines.join("\n")}\n`;
}

/**
 * A value as both docker compose and python-dotenv read it back unchanged: bare when it holds
 * only safe characters, else single-quoted (literal in both, no `$` interpolation), else (a value
 * with a single quote or a backslash) double-quoted with `\` and `"` escaped.
 */
export function envValue(value: string): string {
  if (/^[A-Za-z0-9_./:@%+=,-]*$/.test(value)) return value;
  if (!/['\\\n]/.test(value)) return `'${value}'`;
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}
