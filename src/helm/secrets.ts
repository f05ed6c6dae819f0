import { randomBytes } from "node:crypto";
import { chmod, mkdir, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { EnvironmentError, UserError } from "../errors.js";
import { readTextIfExists, writeFileAtomic } from "../util/index.js";

/**
 * The keys the Dify EE chart wants generated once per installation. Rendering the values again
 * must give the same keys (a new appSecretKey would invalidate every session and every encrypted
 * field), so they live in one private file and are read back on every render.
 */
export interface HelmSecrets {
  /** `global.appSecretKey`: 42 random bytes, base64 (`openssl rand -base64 42`). */
  appSecretKey: string;
  /** `enterprise.appSecretKey`: 42 random bytes, base64. */
  enterpriseAppSecretKey: string;
  /** `enterprise.adminAPIsSecretKeySalt`: 42 random bytes, base64. */
  adminAPIsSecretKeySalt: string;
  /** `enterprise.passwordEncryptionKey`: a 32-byte AES-256 key, base64 (`openssl rand -base64 32`). */
  passwordEncryptionKey: string;
  /** `global.innerApiKey` (both chart lines): the key of service-to-service calls, 42 random bytes. */
  innerApiKey: string;
  /** Chart 3.7: `api.innerApi.apiKey`. */
  apiInnerApiKey: string;
  /** Chart 3.7: `sandbox.apiKey`. */
  sandboxApiKey: string;
  /** Chart 3.7: `plugin_daemon.apiKey`. */
  pluginDaemonApiKey: string;
  /** Chart 3.7: `plugin_connector.apiKey`. */
  pluginConnectorApiKey: string;
  /** Chart 3.7: `enterprise.innerApi.apiKey`. */
  enterpriseInnerApiKey: string;
}

/** Random bytes per secret, as the chart's comments ask. */
const SECRET_BYTES: Readonly<Record<keyof HelmSecrets, number>> = {
  appSecretKey: 42,
  enterpriseAppSecretKey: 42,
  adminAPIsSecretKeySalt: 42,
  passwordEncryptionKey: 32,
  innerApiKey: 42,
  apiInnerApiKey: 42,
  sandboxApiKey: 42,
  pluginDaemonApiKey: 42,
  pluginConnectorApiKey: 42,
  enterpriseInnerApiKey: 42,
};

export const SECRETS_FILE = "secrets.json";

export interface LoadedSecrets {
  secrets: HelmSecrets;
  /** The file they live in. */
  file: string;
  /** True when this call generated at least one of them (first use, or a key added later). */
  created: boolean;
}

/**
 * dify-local's own config directory: `$DIFY_LOCAL_CONFIG_DIR`, else `$XDG_CONFIG_HOME/dify-local`,
 * else `~/.config/dify-local`.
 */
export function userConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.DIFY_LOCAL_CONFIG_DIR) return env.DIFY_LOCAL_CONFIG_DIR;
  if (env.XDG_CONFIG_HOME) return join(env.XDG_CONFIG_HOME, "dify-local");
  return join(homedir(), ".config", "dify-local");
}

/**
 * Returns the chart secrets from `dir/secrets.json`, generating them with crypto randomness on
 * first use (directory 0700, file 0600, written whole or not at all). Two first runs at once agree
 * on one set: the file is created exclusively, and the run that loses reads the winner's keys.
 * Later calls return the same values; a key missing from an older file is generated and added, the
 * others are kept. An empty, cut-off or otherwise unreadable file is a {@link UserError} naming it
 * and the fix: regenerating silently would change keys an installed release depends on.
 */
export async function loadOrCreateSecrets(dir: string = userConfigDir()): Promise<LoadedSecrets> {
  const file = join(dir, SECRETS_FILE);
  const existing = await readSecretsFile(file);
  if (existing === undefined) {
    const secrets = generate({});
    await mkdir(dir, { recursive: true, mode: 0o700 });
    if (await createExclusive(file, serialize(secrets))) return { secrets, file, created: true };
    // Another run created it first: its keys are the ones.
    const theirs = await readSecretsFile(file);
    if (theirs === undefined) throw unusable(file, "is a link to nothing; dify-local does not write through links", fixByHand);
    return { secrets: complete(file, theirs), file, created: false };
  }
  const missing = (Object.keys(SECRET_BYTES) as Array<keyof HelmSecrets>).filter((k) => existing[k] === undefined);
  if (missing.length === 0) {
    await tighten(file);
    return { secrets: complete(file, existing), file, created: false };
  }
  const secrets = generate(existing);
  await writePrivateFile(file, serialize(secrets));
  return { secrets, file, created: true };
}

/**
 * The chart secrets in `dir/secrets.json` when the file exists and reads cleanly, else none: for
 * masking them in output, never for rendering (that is {@link loadOrCreateSecrets}). Never
 * creates or changes anything.
 */
export async function readChartSecrets(dir: string = userConfigDir()): Promise<string[]> {
  try {
    const found = (await readSecretsFile(join(dir, SECRETS_FILE))) ?? {};
    return (Object.keys(SECRET_BYTES) as Array<keyof HelmSecrets>).flatMap((k) => found[k] ?? []);
  } catch {
    return [];
  }
}

/**
 * Writes a file that holds secrets: mode 0600, through a temporary file and a rename, so a reader
 * never sees half a file and an existing file's wider mode does not survive; with `exclusive`, only
 * when nothing is at `file` yet (EEXIST otherwise). With `flag` (the
 * option that named the file), a path that cannot be written is a {@link UserError} naming it, or an
 * {@link EnvironmentError} when permissions forbid it.
 */
export async function writePrivateFile(
  file: string,
  data: string | Uint8Array,
  flag?: string,
  options: { exclusive?: boolean } = {},
): Promise<void> {
  try {
    await writeFileAtomic(file, data, { mode: 0o600, ...options });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // EEXIST (only with `exclusive`) is the caller's to handle: it asked not to replace the file.
    if (flag === undefined || code === undefined || code === "EEXIST") throw err;
    if (code === "EACCES" || code === "EPERM" || code === "EROFS") {
      throw new EnvironmentError(`cannot write ${file}: ${(err as Error).message}`, {
        hint: `check the permissions of ${dirname(file)}`,
        cause: err,
      });
    }
    throw new UserError(`cannot write ${file} (${flag}): ${(err as Error).message}`, { key: flag });
  }
}

async function readSecretsFile(file: string): Promise<Partial<HelmSecrets> | undefined> {
  const text = await readTextIfExists(file);
  if (text === undefined) return undefined;
  const data = parseSecretsText(file, text);
  const out: Partial<HelmSecrets> = {};
  for (const key of Object.keys(SECRET_BYTES) as Array<keyof HelmSecrets>) {
    const value = data[key];
    if (value === undefined) continue;
    if (typeof value !== "string" || value === "") throw unusable(file, `"${key}" must be a non-empty string`, fixByHand);
    out[key] = value;
  }
  return out;
}

/** The file's JSON object; an empty or cut-off file is told apart from a malformed one, each with its fix. */
function parseSecretsText(file: string, text: string): Record<string, unknown> {
  const trimmed = text.trim();
  if (trimmed === "") {
    throw unusable(
      file,
      `is empty (${Buffer.byteLength(text)} bytes): it was created but its keys were never written (an interrupted run, a full disk)`,
      startOver,
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    if (trimmed.startsWith("{") && !trimmed.endsWith("}")) {
      throw unusable(
        file,
        `is cut off after ${Buffer.byteLength(text)} bytes: its JSON ends early (an interrupted write, a full disk)`,
        startOver,
      );
    }
    throw unusable(file, `is not valid JSON (${(err as Error).message})`, fixByHand);
  }
  if (!data || typeof data !== "object" || Array.isArray(data)) throw unusable(file, "is not a JSON object", fixByHand);
  return data as Record<string, unknown>;
}

/** What to do about a file that holds no usable keys: they cannot be recovered from it. */
function startOver(file: string): string {
  return (
    `if no Dify EE release was installed with values rendered from it, delete it and run again (rm ${file}): dify-local generates new keys; ` +
    "otherwise restore it from a backup, because the installed release needs the keys it was given"
  );
}

function fixByHand(file: string): string {
  return (
    `fix it by hand or restore it from a backup: a JSON object with ${Object.keys(SECRET_BYTES).join(", ")} as non-empty strings; ` +
    `deleting it (rm ${file}) makes dify-local generate new keys, which an installed release would then need (helm upgrade with the new values)`
  );
}

function unusable(file: string, what: string, fix: (file: string) => string): UserError {
  return new UserError(`the chart secrets file ${file} ${what}`, { key: file, hint: fix(file) });
}

function generate(existing: Partial<HelmSecrets>): HelmSecrets {
  const out = {} as HelmSecrets;
  for (const [key, bytes] of Object.entries(SECRET_BYTES) as Array<[keyof HelmSecrets, number]>) {
    out[key] = existing[key] ?? randomBytes(bytes).toString("base64");
  }
  return out;
}

function complete(file: string, s: Partial<HelmSecrets>): HelmSecrets {
  const out = {} as HelmSecrets;
  for (const key of Object.keys(SECRET_BYTES) as Array<keyof HelmSecrets>) {
    const value = s[key];
    if (!value) throw unusable(file, `lacks "${key}"`, fixByHand);
    out[key] = value;
  }
  return out;
}

function serialize(secrets: HelmSecrets): string {
  return `${JSON.stringify({ ...secrets, note: "Generated by dify-local for the Dify EE Helm values. Keep private; keep stable." }, null, 2)}\n`;
}

/** Writes `file` whole (0600) unless it exists: false when another run made it first. */
async function createExclusive(file: string, text: string): Promise<boolean> {
  try {
    await writeFileAtomic(file, text, { mode: 0o600, exclusive: true });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
}

/** A secrets file readable by others (copied around, restored from a backup) is narrowed to 0600. */
async function tighten(file: string): Promise<void> {
  const { mode } = await stat(file);
  if ((mode & 0o077) !== 0) await chmod(file, 0o600);
}
