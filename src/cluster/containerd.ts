import { parse, stringify, type TomlTable } from "smol-toml";
import { CERTS_D } from "./files.js";

/** containerd's main config file in a kind node. */
export const CONTAINERD_CONFIG = "/etc/containerd/config.toml";

/** Where `up --patch-containerd` keeps a node's config as it was before the patch (the first one only). */
export const CONTAINERD_CONFIG_BACKUP = "/etc/containerd/config.toml.before-dify-local";

/**
 * The CRI plugin's registry table, per containerd config version: `version = 2` (containerd 1.x,
 * and kind's node images, which containerd 2.x migrates on load), `version = 3` (containerd 2.x's
 * own, what its `config dump` prints), and the old unversioned `[plugins.cri]` of version 1.
 */
const REGISTRY_TABLE: Readonly<Record<number, readonly string[]>> = {
  1: ["plugins", "cri", "registry"],
  2: ["plugins", "io.containerd.grpc.v1.cri", "registry"],
  3: ["plugins", "io.containerd.cri.v1.images", "registry"],
};

/** What a containerd config says about where the CRI plugin looks for registry hosts. */
export interface RegistrySettings {
  /** The config's `version` (1 when absent, as containerd assumes). */
  version: number;
  /** The table, as TOML writes its header: `plugins."io.containerd.grpc.v1.cri".registry`. */
  table: string;
  /** The directories of `config_path` (containerd splits it like PATH); empty when it is unset. */
  configPaths: string[];
  /** Whether {@link CERTS_D} is one of them, so the hosts.toml files dify-local writes there are read. */
  readsCertsD: boolean;
  /**
   * Older registry settings containerd refuses alongside `config_path` (the CRI plugin then does
   * not load at all, and the node runs no pod): `mirrors` and `configs.<host>.tls`.
   */
  conflicts: string[];
}

// Integers as BigInt and numbers written as floats: a patched config keeps every value's TOML type.
const PARSE = { integersAsBigInt: true } as const;
const STRINGIFY = { numbersAsFloat: true } as const;

function isTable(v: unknown): v is TomlTable {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function versionOf(doc: TomlTable): number {
  const v = doc.version === undefined ? 1 : Number(doc.version);
  if (!REGISTRY_TABLE[v])
    throw new Error(`containerd config version ${Number.isNaN(v) ? "(not a number)" : v} is not one dify-local knows (1, 2 or 3)`);
  return v;
}

function tableName(path: readonly string[]): string {
  return path.map((k) => (/^[A-Za-z0-9_-]+$/.test(k) ? k : `"${k}"`)).join(".");
}

function lookup(doc: TomlTable, path: readonly string[]): TomlTable | undefined {
  let at: unknown = doc;
  for (const key of path) at = isTable(at) ? at[key] : undefined;
  return isTable(at) ? at : undefined;
}

function conflictsOf(registry: TomlTable | undefined): string[] {
  const mirrors = isTable(registry?.mirrors) ? Object.keys(registry.mirrors) : [];
  const configs = isTable(registry?.configs) ? registry.configs : {};
  const tls = Object.entries(configs)
    .filter(([, c]) => isTable(c) && c.tls !== undefined)
    .map(([host]) => `configs."${host}".tls`);
  return [...(mirrors.length ? [`mirrors (${mirrors.join(", ")})`] : []), ...tls];
}

/**
 * Reads the registry settings out of a containerd config: the file, or better what
 * `containerd config dump` prints (imports merged, defaults filled in, migrated to the running
 * version). Pure; throws on TOML containerd would not load either.
 */
export function registrySettings(toml: string): RegistrySettings {
  const doc = parse(toml, PARSE);
  const version = versionOf(doc);
  const path = REGISTRY_TABLE[version] ?? [];
  const registry = lookup(doc, path);
  const raw = typeof registry?.config_path === "string" ? registry.config_path : "";
  const configPaths = raw.split(":").filter(Boolean);
  return { version, table: tableName(path), configPaths, readsCertsD: configPaths.includes(CERTS_D), conflicts: conflictsOf(registry) };
}

/**
 * The config file with {@link CERTS_D} added to the CRI plugin's `config_path` (after any
 * directory already there, which keeps precedence), in the table of the file's own version; the text unchanged when it
 * is already there. As kind applies its `containerdConfigPatches`: parsed, merged and written
 * again (comments are not kept). Pure; throws when containerd would refuse the result (see
 * {@link RegistrySettings.conflicts}).
 */
export function withConfigPath(toml: string): string {
  const settings = registrySettings(toml);
  if (settings.readsCertsD) return toml;
  if (settings.conflicts.length)
    throw new Error(
      `its ${settings.table} also sets ${settings.conflicts.join(" and ")}, which containerd refuses together with config_path`,
    );
  const doc = parse(toml, PARSE);
  let table = doc;
  for (const key of REGISTRY_TABLE[settings.version] ?? []) {
    const next = table[key];
    table = isTable(next) ? next : (table[key] = {});
  }
  table.config_path = [...settings.configPaths, CERTS_D].join(":");
  return stringify(doc, STRINGIFY);
}
