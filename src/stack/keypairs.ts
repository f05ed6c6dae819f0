import { createPrivateKey, createPublicKey } from "node:crypto";
import type { Readable } from "node:stream";
import type { Config } from "../config/index.js";
import type { Finding } from "../engine/index.js";
import { messageOf } from "../errors.js";
import type { ObservedContainer } from "../runtime/index.js";
import { liveMinioCredentials, minioClient, withPostgres } from "../services/index.js";

/**
 * The key-pair check. Dify keeps each tenant's RSA public key in PostgreSQL
 * (`dify.tenants.encrypt_public_key`) and its private key as an object in the bucket
 * (`privkeys/<tenant_id>/private.pem`); every credential the tenant saves is encrypted with the
 * pair. One store restored without the other, or a lost volume, and Dify fails with
 * PrivkeyNotFoundError (or cannot decrypt). Facts (all I/O) first, then a pure rule.
 */

/** The database Dify's api keeps its tenants in. */
export const DIFY_DATABASE = "dify";

/** One tenant's private key, as found. */
export interface TenantKey {
  tenant: string;
  state: "ok" | "missing" | "mismatch" | "unreadable";
  detail?: string;
}

/** What the check saw: each tenant's key, or why it could not look. */
export type KeyPairFacts = { checked: true; bucket: string; tenants: TenantKey[] } | { checked: false; reason: string; error: boolean };

/** The object that holds a tenant's private key. */
export function privateKeyObject(tenant: string): string {
  return `privkeys/${tenant}/private.pem`;
}

/** Whether a private key (PEM) is the other half of a public key (PEM): their public parts, compared as DER. */
export function keysMatch(privatePem: string, publicPem: string): TenantKey["state"] {
  let mine: Buffer;
  try {
    mine = createPublicKey(createPrivateKey(privatePem)).export({ type: "spki", format: "der" });
  } catch {
    return "unreadable";
  }
  try {
    return mine.equals(createPublicKey(publicPem).export({ type: "spki", format: "der" })) ? "ok" : "mismatch";
  } catch {
    return "mismatch";
  }
}

/** The key-pair facts from tenants and the private keys found for them (pure; `keys` by object key). */
export function keyPairFactsOf(
  tenants: ReadonlyArray<{ id: string; key: string }>,
  keys: ReadonlyMap<string, string>,
  bucket: string,
): KeyPairFacts {
  return {
    checked: true,
    bucket,
    tenants: tenants.map((t) => {
      const pem = keys.get(privateKeyObject(t.id));
      return pem === undefined ? { tenant: t.id, state: "missing" as const } : { tenant: t.id, state: keysMatch(pem, t.key) };
    }),
  };
}

/** At most this much of an object is read: a PEM key is a few KiB; anything far bigger is not one. */
const MAX_KEY_BYTES = 64 * 1024;

async function readSmall(body: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    size += b.length;
    if (size > MAX_KEY_BYTES) {
      body.destroy();
      break;
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** SQLSTATE: the database (3D000) or the table (42P01) does not exist. */
const NOT_THERE = new Set(["3D000", "42P01"]);

/** The tenants with a public key, from Dify's database; a reason when there is nothing to check. */
async function tenantKeys(config: Config, host: string): Promise<Array<{ id: string; key: string }> | string> {
  if (!config.postgres.databases.includes(DIFY_DATABASE)) return `postgres.databases has no ${DIFY_DATABASE} database`;
  try {
    return await withPostgres(
      { host, settings: config.postgres },
      async (c) =>
        (
          await c.query<{ id: string; key: string }>(
            "SELECT id::text AS id, encrypt_public_key AS key FROM tenants WHERE coalesce(encrypt_public_key, '') <> '' ORDER BY id",
          )
        ).rows,
      DIFY_DATABASE,
    );
  } catch (err) {
    if (NOT_THERE.has(String((err as { code?: unknown }).code))) return "Dify has not created its tables yet (no dify.tenants)";
    throw err;
  }
}

/**
 * Gathers the key-pair facts: the tenants with a public key, then each one's private key object.
 * Never throws: a store that does not answer is a reason (an error), not a crash.
 */
export async function keyPairFacts(config: Config, host: string, observed: ReadonlyMap<string, ObservedContainer>): Promise<KeyPairFacts> {
  const pg = observed.get(config.postgres.container);
  const minio = observed.get(config.minio.container);
  if (!config.postgres.enabled || !config.minio.enabled) return { checked: false, reason: "PostgreSQL or MinIO is disabled", error: false };
  // Reading the tenants of an external PostgreSQL is left to a later step (issue 12); never a local container of that name.
  if (config.postgres.external)
    return { checked: false, reason: "PostgreSQL is external (key pairs are checked on local stores only)", error: false };
  if (config.minio.external)
    return { checked: false, reason: "MinIO is external (key pairs are checked on local stores only)", error: false };
  if (!pg?.running || !minio?.running) return { checked: false, reason: "PostgreSQL or MinIO is not running", error: false };
  try {
    const tenants = await tenantKeys(config, host);
    if (typeof tenants === "string") return { checked: false, reason: tenants, error: false };
    const client = await minioClient({ host, settings: config.minio }, liveMinioCredentials(config.minio, minio));
    const bucket = config.minio.bucket;
    const out: TenantKey[] = [];
    for (const t of tenants) {
      let pem: string;
      try {
        pem = await readSmall(await client.getObject(bucket, privateKeyObject(t.id)));
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === "NoSuchKey" || code === "NotFound") out.push({ tenant: t.id, state: "missing" });
        else out.push({ tenant: t.id, state: "unreadable", detail: messageOf(err) });
        continue;
      }
      out.push({ tenant: t.id, state: keysMatch(pem, t.key) });
    }
    return { checked: true, bucket, tenants: out };
  } catch (err) {
    return { checked: false, reason: `could not read the tenants' keys: ${messageOf(err)}`, error: true };
  }
}

const WHY =
  "Dify encrypts every credential a tenant saves (model providers, tools, plugins) with this key pair: " +
  "without the matching private key it fails with PrivkeyNotFoundError or cannot decrypt them";

const FIX =
  "restore the private key that belongs to this database: a snapshot that holds both (dify-local snapshot restore NAME restores PostgreSQL and MinIO together); " +
  "if there is none, give the tenants new key pairs in the Dify api container: flask reset-encrypt-key-pair — " +
  "it deletes every credential the tenants saved (model provider, tool and plugin credentials), which must then be entered again";

/** The key-pair rule: one finding per tenant whose private key is missing or does not match, else one "ok". Pure. */
export function keyPairFindings(f: KeyPairFacts): Finding[] {
  if (!f.checked) {
    if (f.error) return [{ id: "keypairs", severity: "warning", what: "the tenants' key pairs could not be checked", why: f.reason }];
    return [{ id: "keypairs", severity: "ok", what: `no tenant key pairs to check: ${f.reason}` }];
  }
  const bad = f.tenants.filter((t) => t.state !== "ok");
  if (bad.length === 0)
    return [
      {
        id: "keypairs",
        severity: "ok",
        what: `the private keys of ${f.tenants.length} tenants are in bucket ${f.bucket} and match their public keys`,
      },
    ];
  return bad.map((t) => ({
    id: `keypairs.${t.tenant}`,
    severity: "error" as const,
    what:
      t.state === "missing"
        ? `tenant ${t.tenant}: its private key ${privateKeyObject(t.tenant)} is missing from bucket ${f.bucket}`
        : t.state === "mismatch"
          ? `tenant ${t.tenant}: the private key ${privateKeyObject(t.tenant)} does not match its public key in dify.tenants`
          : `tenant ${t.tenant}: the private key ${privateKeyObject(t.tenant)} cannot be read${t.detail ? ` (${t.detail})` : ""}`,
    why: WHY,
    fix: FIX,
  }));
}
