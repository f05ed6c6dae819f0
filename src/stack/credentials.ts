import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { UserError } from "../errors.js";
import { userConfigDir, writePrivateFile } from "../helm/index.js";
import { credentialProblem, SECRET_FIELD, type Service, type StackConfig } from "../services/index.js";

/**
 * Opt-in strong credentials (`up --generate-passwords`, `credentials: generate`): a random value
 * for every secret field of every service (postgres.password, redis.password, minio.rootPassword,
 * qdrant.apiKey, and a caller's own services' ones), kept 0600 in the user's config directory, one
 * file per configuration (keyed by its container names), so every command of that configuration
 * reads the same set.
 */

/** The folder of the user's config directory the generated sets live in. */
export const CREDENTIALS_DIR = "credentials";

/** Generated values by section and key: `{ postgres: { password: "..." } }`. */
export type GeneratedCredentials = Record<string, Record<string, string>>;

export interface LoadedCredentials {
  values: GeneratedCredentials;
  file: string;
  /** True when this call generated at least one value (and, with `persist`, wrote it). */
  created: boolean;
}

/** The secret fields of each service's section (those made with `secret` or `asSecret`), as section and key. */
export function secretFields(services: readonly Service[]): Array<{ section: string; key: string }> {
  return services.flatMap((service) => {
    const shape = objectShape(service.schema);
    return Object.entries(shape)
      .filter(([, field]) => isSecretField(field))
      .map(([key]) => ({ section: service.name, key }));
  });
}

function objectShape(schema: z.ZodTypeAny): Record<string, z.ZodTypeAny> {
  if (schema instanceof z.ZodObject) return schema.shape as Record<string, z.ZodTypeAny>;
  const def = schema._def as { innerType?: z.ZodTypeAny; schema?: z.ZodTypeAny };
  const inner = def.innerType ?? def.schema;
  return inner ? objectShape(inner) : {};
}

function isSecretField(field: z.ZodTypeAny): boolean {
  if (field.description === SECRET_FIELD) return true;
  const def = field._def as { innerType?: z.ZodTypeAny; schema?: z.ZodTypeAny };
  const inner = def.innerType ?? def.schema;
  return inner ? isSecretField(inner) : false;
}

/** The container names a configuration is known by (what its set of credentials is kept under). */
export function stackNames(services: readonly Service[], config: StackConfig): string[] {
  return services.map((s) => s.settings(config).container);
}

/** The file that keeps the generated credentials of the configuration whose containers are `names`. */
export function credentialsFile(dir: string, names: readonly string[]): string {
  const key = createHash("sha256").update(names.join("\n")).digest("hex").slice(0, 16);
  return join(dir, CREDENTIALS_DIR, `${key}.json`);
}

/** 32 random letters and digits (about 190 bits): safe on a command line, in a URL, in YAML and .env. */
export function randomCredential(length = 32): string {
  let out = "";
  while (out.length < length)
    out += randomBytes(48)
      .toString("base64")
      .replace(/[^A-Za-z0-9]/g, "");
  return out.slice(0, length);
}

/**
 * The generated credentials of a configuration, when its file exists; never creates anything. A
 * damaged file is a {@link UserError} naming it and the fix.
 */
export async function readCredentials(file: string): Promise<GeneratedCredentials | undefined> {
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
    throw damaged(file, `is not valid JSON (${(err as Error).message})`);
  }
  const parsed = fileSchema.safeParse(data);
  if (!parsed.success) throw damaged(file, `does not hold a "values" object of sections and keys`);
  for (const [section, keys] of Object.entries(parsed.data.values)) {
    for (const [key, value] of Object.entries(keys)) {
      const problem = credentialProblem(value);
      if (problem) throw damaged(file, `${section}.${key} ${problem}`);
    }
  }
  return parsed.data.values;
}

const fileSchema = z.object({ values: z.record(z.record(z.string())) });

function damaged(file: string, what: string): UserError {
  return new UserError(`the generated credentials file ${file} ${what}`, {
    key: file,
    hint:
      `fix it by hand, or restore it from a backup: the running services use the passwords it held. ` +
      `Deleting it (rm ${file}) makes dify-local use the seed's passwords, or generate new ones with --generate-passwords`,
  });
}

/**
 * The generated credentials of a configuration: read from `file`, or generated for every field
 * missing there. With `persist`, a new set is created exclusively (0600, in a 0700 directory), so
 * two first runs at once agree on one set: the run that loses reads the winner's.
 */
export async function loadOrCreateCredentials(
  file: string,
  fields: ReadonlyArray<{ section: string; key: string }>,
  names: readonly string[],
  persist: boolean,
): Promise<LoadedCredentials> {
  const existing = await readCredentials(file);
  const missing = fields.filter((f) => existing?.[f.section]?.[f.key] === undefined);
  if (missing.length === 0 && existing) return { values: existing, file, created: false };
  const values: GeneratedCredentials = structuredClone(existing ?? {});
  for (const { section, key } of missing) (values[section] ??= {})[key] = randomCredential();
  if (!persist) return { values, file, created: true };
  await mkdir(join(file, ".."), { recursive: true, mode: 0o700 });
  const text = serialize(values, names);
  if (existing) {
    await writePrivateFile(file, text);
    return { values, file, created: true };
  }
  try {
    await writePrivateFile(file, text, undefined, { exclusive: true });
    return { values, file, created: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  // Another run created it first: its values are the ones.
  return loadOrCreateCredentials(file, fields, names, persist);
}

function serialize(values: GeneratedCredentials, names: readonly string[]): string {
  const note = "Generated by dify-local (--generate-passwords): the passwords of these containers. Keep private.";
  return `${JSON.stringify({ note, containers: names, values }, null, 2)}\n`;
}

/** How a configuration gets its credentials: the seed's defaults, or generated ones. */
export type CredentialsMode = "seed" | "generate";

export interface CredentialsChoice {
  mode: CredentialsMode;
  /** With generated credentials: their file and whether this command generated them. */
  file?: string;
  created?: boolean;
  /** The generated values, as a layer under the user's configuration (a value set there wins). */
  underlay?: Record<string, unknown>;
}

/**
 * What credentials a validated configuration uses: `credentials: seed` the seed's; `generate` the
 * configuration's generated set (made on first use); unset, the generated set when one was made
 * for these containers (by `up --generate-passwords`), else the seed's.
 */
export async function chooseCredentials(
  config: StackConfig & { credentials?: CredentialsMode | undefined },
  services: readonly Service[],
  options: { env?: NodeJS.ProcessEnv; persist?: boolean },
): Promise<CredentialsChoice> {
  if (config.credentials === "seed") return { mode: "seed" };
  const names = stackNames(services, config);
  const file = credentialsFile(userConfigDir(options.env ?? process.env), names);
  if (config.credentials !== "generate" && (await readCredentials(file)) === undefined) return { mode: "seed" };
  const loaded = await loadOrCreateCredentials(file, secretFields(services), names, options.persist ?? true);
  // An external service's credentials are its owner's: none is generated for its section.
  const external = new Set(services.filter((s) => s.external(config)).map((s) => s.name));
  const underlay = Object.fromEntries(Object.entries(loaded.values).filter(([section]) => !external.has(section)));
  return { mode: "generate", file, created: loaded.created, underlay };
}
