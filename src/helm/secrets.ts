import { randomBytes } from "node:crypto";
import { chmod, mkdir, open, readFile, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { EnvironmentError, UserError } from "../errors.js";
import { writeFileAtomic } from "../util/index.js";

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
}

/** Random bytes per secret, as the chart's comments ask. */
const SECRET_BYTES: Readonly<Record<keyof HelmSecrets, number>> = {
  appSecretKey: 42,
  enterpriseAppSecretKey: 42,
  adminAPIsSecretKeySalt: 42,
  passwordEncryptionKey: 32,
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
 * first use (directory 0700, file 0600). Later calls return the same values; a key missing from an
 * older file is generated and added, the others are kept. A damaged file is a {@link UserError}
 * naming it: regenerating silently would change keys an installed release depends on.
 */
export async function loadOrCreateSecrets(dir: string = userConfigDir()): Promise<LoadedSecrets> {
  const file = join(dir, SECRETS_FILE);
  const existing = await readSecretsFile(file);
  if (existing === undefined) {
    const secrets = generate({});
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // Exclusive create: when two first renders race, one writes and the other reads its keys.
    const created = await createExclusive(file, serialize(secrets));
    if (created) return { secrets, file, created: true };
    return { secrets: complete(file, (await readSecretsFile(file)) ?? {}), file, created: false };
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
 * never sees half a file and an existing file's wider mode does not survive. With `flag` (the
 * option that named the file), a path that cannot be written is a {@link UserError} naming it, or an
 * {@link EnvironmentError} when permissions forbid it.
 */
export async function writePrivateFile(file: string, data: string | Uint8Array, flag?: string): Promise<void> {
  try {
    await writeFileAtomic(file, data, { mode: 0o600 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (flag === undefined || code === undefined) throw err;
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
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw damaged(file, `not valid JSON (${(err as Error).message})`);
  }
  if (!data || typeof data !== "object" || Array.isArray(data)) throw damaged(file, "not a JSON object");
  const out: Partial<HelmSecrets> = {};
  for (const key of Object.keys(SECRET_BYTES) as Array<keyof HelmSecrets>) {
    const value = (data as Record<string, unknown>)[key];
    if (value === undefined) continue;
    if (typeof value !== "string" || value === "") throw damaged(file, `"${key}" must be a non-empty string`);
    out[key] = value;
  }
  return out;
}

function damaged(file: string, why: string): UserError {
  return new UserError(`${file}: ${why}`, {
    key: file,
    hint: "restore it from a backup; deleting it makes dify-local generate new keys, which an installed release would then need (helm upgrade with the new values)",
  });
}

function generate(existing: Partial<HelmSecrets>): HelmSecrets {
  const out = {} as HelmSecrets;
  for (const [key, bytes] of Object.entries(SECRET_BYTES) as Array<[keyof HelmSecrets, number]>) {
    out[key] = existing[key] ?? randomBytes(bytes).toString("base64");
  }
  return out;
}

function complete(file: string, s: Partial<HelmSecrets>): HelmSecrets {
  const { appSecretKey, enterpriseAppSecretKey, adminAPIsSecretKeySalt, passwordEncryptionKey } = s;
  if (!appSecretKey || !enterpriseAppSecretKey || !adminAPIsSecretKeySalt || !passwordEncryptionKey)
    throw damaged(file, "a key is missing");
  return { appSecretKey, enterpriseAppSecretKey, adminAPIsSecretKeySalt, passwordEncryptionKey };
}

function serialize(secrets: HelmSecrets): string {
  return `${JSON.stringify({ ...secrets, note: "Generated by dify-local for the Dify EE Helm values. Keep private; keep stable." }, null, 2)}\n`;
}

async function createExclusive(file: string, text: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(file, "wx", 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
  try {
    await handle.writeFile(text);
  } finally {
    await handle.close();
  }
  return true;
}

/** A secrets file readable by others (copied around, restored from a backup) is narrowed to 0600. */
async function tighten(file: string): Promise<void> {
  const { mode } = await stat(file);
  if ((mode & 0o077) !== 0) await chmod(file, 0o600);
}
