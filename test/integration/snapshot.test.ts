/**
 * Snapshots on the real fixture services: PostgreSQL (pg_dump/pg_restore in its container), Redis
 * (BGSAVE, the archive API, a restart), the registry (its volume through the archive API) are the
 * real servers; MinIO is the s3rver stand-in behind SigV4, Qdrant the double with its snapshot
 * endpoints. Data goes into every store, a snapshot is taken, every store is changed, and the
 * restore must bring back exactly what was there.
 */
import { generateKeyPairSync } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { QdrantClient } from "@qdrant/js-client-rest";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { doctor } from "../../src/commands/doctor.js";
import { OperationError, snapshotCreate, snapshotList, snapshotRestore, snapshotVerify, up, UserError } from "../../src/index.js";
import type { Redis } from "ioredis";
import { seedS3, withRedis as withSeedRedis } from "../support/clients.js";
import { buildTinyImage, pushImage, removeImage } from "../support/images.js";
import { cleanup, testConfig } from "../support/stack.js";

const BASE = 31000;
const config = testConfig("snap", BASE);
const TENANT = "6f1c9d2e-3b4a-4c5d-8e9f-0a1b2c3d4e5f";
const IMAGE = `127.0.0.1:${BASE}/snaptest/plugin:1`;
const LATER_IMAGE = `127.0.0.1:${BASE}/snaptest/later:1`;

let env: NodeJS.ProcessEnv;
/** The passwords the stack runs with now (the seed's, until the last test changes them). */
let creds = { postgres: "devpassword", redis: "devpassword", minio: "minioadmin123", qdrant: "devpassword" };
/** Every store's data as the first test put it there. */
let baseline: Record<string, unknown> = {};
let dirs: string[] = [];

function pem(): { publicKey: string; privateKey: string } {
  return generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
  });
}

async function sql<T extends pg.QueryResultRow>(db: string, text: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ host: "127.0.0.1", port: BASE + 1, user: "postgres", password: creds.postgres, database: db });
  await client.connect();
  try {
    return (await client.query<T>(text, params)).rows;
  } finally {
    await client.end();
  }
}

const qdrant = () =>
  new QdrantClient({ url: `http://127.0.0.1:${BASE + 5}`, headers: { "api-key": creds.qdrant }, checkCompatibility: false });
const s3 = () => seedS3(BASE + 3, creds.minio);
const withRedis = <T>(port: number, body: (r: Redis) => Promise<T>): Promise<T> => withSeedRedis(port, body, creds.redis);

async function objectText(key: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of await s3().getObject("dify", key)) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** Everything the test put in every store, read back. */
async function state(): Promise<Record<string, unknown>> {
  const rows: Record<string, unknown> = {};
  for (const db of ["dify", "plugin_daemon", "enterprise", "audit"])
    rows[db] = await sql(db, "SELECT x FROM t ORDER BY x").catch((e: Error) => e.message);
  const keys = await withRedis(BASE + 2, async (r) => ({ a: await r.get("snap:a"), h: await r.hgetall("snap:h"), n: await r.dbsize() }));
  const objects = (await s3().listObjects("dify", "", true).toArray()).map((o: { name?: string }) => o.name).sort();
  const stat = await s3()
    .statObject("dify", "files/report.txt")
    .catch(() => undefined);
  const collections = (await qdrant().getCollections()).collections.map((c) => c.name).sort();
  const points = await qdrant()
    .scroll("docs", { with_vector: true })
    .then((r) => r.points)
    .catch(() => "missing");
  const tags = await fetch(`http://127.0.0.1:${BASE}/v2/_catalog`).then((r) => r.json());
  const secrets = await readFile(join(env.DIFY_LOCAL_CONFIG_DIR ?? "", "secrets.json"), "utf8").catch(() => "none");
  return {
    rows,
    keys,
    objects,
    meta: stat && { type: stat.metaData["content-type"], owner: stat.metaData.owner },
    collections,
    points,
    tags,
    secrets,
  };
}

describe.skipIf(!inject("engine"))("snapshots", () => {
  beforeAll(async () => {
    await cleanup(config);
    const home = await mkdtemp(join(tmpdir(), "dlt-snap-"));
    dirs.push(home);
    env = {
      ...process.env,
      DIFY_LOCAL_CONFIG_DIR: join(home, "config"),
      DIFY_LOCAL_DATA_DIR: join(home, "data"),
      DIFY_LOCAL_STATE_DIR: join(home, "state"),
    };
    expect((await up({ config, env })).ok).toBe(true);
    const keys = pem();
    await sql("dify", "CREATE TABLE tenants (id uuid PRIMARY KEY, encrypt_public_key text)");
    await sql("dify", "INSERT INTO tenants VALUES ($1, $2)", [TENANT, keys.publicKey]);
    for (const db of ["dify", "plugin_daemon", "enterprise", "audit"]) {
      await sql(db, "CREATE TABLE t (x int)");
      await sql(db, "INSERT INTO t SELECT generate_series(1, 50)");
    }
    await withRedis(BASE + 2, async (r) => {
      await r.set("snap:a", "1");
      await r.hset("snap:h", { f: "v", g: "w" });
    });
    await s3().putObject("dify", `privkeys/${TENANT}/private.pem`, keys.privateKey);
    await s3().putObject("dify", "files/report.txt", "hello report", undefined, {
      "Content-Type": "text/plain",
      "X-Amz-Meta-Owner": "ana",
    });
    await qdrant().createCollection("docs", { vectors: { size: 2, distance: "Cosine" } });
    await qdrant().upsert("docs", {
      points: [
        { id: 1, vector: [1, 0], payload: { t: "a" } },
        { id: 2, vector: [0, 1], payload: { t: "b" } },
      ],
    });
    await buildTinyImage(IMAGE, `snap ${Date.now()}`);
    await pushImage(IMAGE);
    await mkdir(env.DIFY_LOCAL_CONFIG_DIR ?? "", { recursive: true });
    await writeFile(join(env.DIFY_LOCAL_CONFIG_DIR ?? "", "secrets.json"), '{"appSecretKey":"snapshot-test-key-1"}\n');
  });
  afterAll(async () => {
    await cleanup(config);
    await removeImage(IMAGE);
    await removeImage(LATER_IMAGE);
    for (const d of dirs) await rm(d, { recursive: true, force: true });
    dirs = [];
  });

  it("create, change every store, restore: everything is back exactly and the key pairs match", async () => {
    const before = await state();
    baseline = before;
    const created = await snapshotCreate({ config, env, name: "base" });
    expect(created.parts.map((p) => p.service)).toEqual(["registry", "postgres", "redis", "minio", "qdrant", "dify-local"]);
    const listed = await snapshotList({ env });
    expect(listed.snapshots.map((s) => [s.name, s.integrity])).toEqual([["base", "ok"]]);
    // Without restoring: the tenant read out of the dump, its private key out of the objects.
    const verified = await snapshotVerify({ config, env, name: "base" });
    expect(verified.keyPairs).toEqual([
      expect.objectContaining({ id: "keypairs", severity: "ok", what: expect.stringContaining("of 1 tenants") as unknown }),
    ]);
    expect(verified.ok).toBe(true);

    // Change every store.
    await sql("dify", "DELETE FROM t WHERE x > 10");
    await sql("audit", "DROP TABLE t");
    await withRedis(BASE + 2, async (r) => {
      await r.set("snap:a", "changed");
      await r.set("snap:new", "x");
    });
    await s3().removeObject("dify", "files/report.txt");
    await s3().putObject("dify", "files/new.txt", "new");
    await qdrant().deleteCollection("docs");
    await qdrant().createCollection("other", { vectors: { size: 2, distance: "Cosine" } });
    await buildTinyImage(LATER_IMAGE, `later ${Date.now()}`);
    await pushImage(LATER_IMAGE);
    await writeFile(join(env.DIFY_LOCAL_CONFIG_DIR ?? "", "secrets.json"), '{"appSecretKey":"snapshot-test-key-2"}\n');
    expect(await state()).not.toEqual(before);

    const restored = await snapshotRestore({ config, env, name: "base", yes: true });
    expect(restored.checks.filter((c) => !c.ok)).toEqual([]);
    expect(restored.keyPairs).toEqual([expect.objectContaining({ id: "keypairs", severity: "ok" })]);
    expect(restored.ok).toBe(true);
    expect(await state()).toEqual(before);
    // The automatic snapshot of the state before the restore is there, and intact.
    expect(restored.backup).toMatch(/^pre-restore-/);
    expect((await snapshotVerify({ config, env, name: restored.backup ?? "" })).ok).toBe(true);
  });

  it("onto a new machine: with every container and volume gone, a restore refuses, or makes the stack first with prepare", async () => {
    await cleanup(config);
    // Without a way to make the stack: refused, nothing made.
    await expect(snapshotRestore({ config, env, name: "base", yes: true })).rejects.toThrow(
      /does not exist: a restore needs every store running/,
    );
    let prepared = 0;
    const restored = await snapshotRestore({
      config,
      env,
      name: "base",
      yes: true,
      backup: false,
      prepare: async () => {
        prepared++;
        expect((await up({ config, env })).ok).toBe(true);
      },
    });
    expect(prepared).toBe(1);
    expect(restored.ok).toBe(true);
    expect(await state()).toEqual(baseline);
  });

  it("a tampered artefact: verify names it, restore refuses before any change", async () => {
    const folder = join(env.DIFY_LOCAL_DATA_DIR ?? "", "snapshots", "base");
    const manifest = JSON.parse(await readFile(join(folder, "manifest.json"), "utf8")) as {
      services: Array<{ service: string; artefacts: Array<{ file: string }> }>;
    };
    const dump = manifest.services.find((s) => s.service === "redis")?.artefacts[0]?.file ?? "";
    const original = await readFile(join(folder, dump));
    const tampered = Buffer.from(original);
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 0xff;
    await writeFile(join(folder, dump), tampered);
    try {
      const verified = await snapshotVerify({ config, env, name: "base" });
      expect(verified.ok).toBe(false);
      expect(verified.keyPairs).toEqual([]);
      expect(verified.problems).toEqual([{ file: dump, problem: expect.stringContaining("sha256") as unknown }]);
      await withRedis(BASE + 2, (r) => r.set("snap:a", "after"));
      const err = await snapshotRestore({ config, env, name: "base", yes: true, backup: false }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OperationError);
      expect((err as Error).message).toContain(dump);
      expect(await withRedis(BASE + 2, (r) => r.get("snap:a"))).toBe("after");
      expect((await snapshotList({ env })).snapshots.find((s) => s.name === "base")?.integrity).toBe("ok");
    } finally {
      await writeFile(join(folder, dump), original);
    }
  });

  it("a snapshot of a newer format is refused as incompatible, before any change", async () => {
    const folder = join(env.DIFY_LOCAL_DATA_DIR ?? "", "snapshots", "future");
    await rm(folder, { recursive: true, force: true });
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, "manifest.json"), JSON.stringify({ format: 99 }));
    const err = await snapshotRestore({ config, env, name: "future", yes: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/newer dify-local/);
    await rm(folder, { recursive: true, force: true });
  });

  it("the key-pair check names a tenant whose private key is missing or does not match", async () => {
    const key = `privkeys/${TENANT}/private.pem`;
    const original = await objectText(key);
    try {
      await s3().removeObject("dify", key);
      let f = (await doctor({ config, env })).findings.find((x) => x.id === `keypairs.${TENANT}`);
      expect(f).toMatchObject({
        severity: "error",
        what: expect.stringContaining("missing") as unknown,
        fix: expect.stringContaining("flask reset-encrypt-key-pair") as unknown,
      });
      await s3().putObject("dify", key, pem().privateKey);
      f = (await doctor({ config, env })).findings.find((x) => x.id === `keypairs.${TENANT}`);
      expect(f).toMatchObject({ severity: "error", what: expect.stringContaining("does not match") as unknown });
      // A snapshot of that state: its own verify names the tenant too.
      await snapshotCreate({ config, env, name: "wrong-key", registry: false });
      const verified = await snapshotVerify({ config, env, name: "wrong-key" });
      expect(verified.ok).toBe(false);
      expect(verified.keyPairs.map((k) => [k.id, k.severity])).toEqual([[`keypairs.${TENANT}`, "error"]]);
    } finally {
      await s3().putObject("dify", key, original);
    }
    expect((await doctor({ config, env })).findings.find((x) => x.id === "keypairs")?.severity).toBe("ok");
  });

  it("a restore after every password changed in the config: the data goes back through the new credentials", async () => {
    const next = { postgres: "pg-new-password", redis: "redis-new-password", minio: "minio-new-password", qdrant: "qdrant-new-key" };
    const changed = testConfig("snap", BASE, {
      postgres: { password: next.postgres },
      redis: { password: next.redis },
      minio: { rootPassword: next.minio },
      qdrant: { apiKey: next.qdrant },
    });
    expect((await up({ config: changed, env })).ok).toBe(true);
    creds = next;
    await withRedis(BASE + 2, (r) => r.set("snap:a", "changed again"));
    await sql("dify", "DELETE FROM t");
    const restored = await snapshotRestore({ config: changed, env, name: "base", yes: true, backup: false });
    // The configuration's digest leaves secrets out: only passwords changed, so it is the same.
    expect(restored.configChanged).toBe(false);
    expect(restored.ok).toBe(true);
    expect(await state()).toEqual(baseline);
  });

  it("a restore that fails part-way says what it restored and the way back", async () => {
    // Qdrant refuses the config's key (the container runs with another): the stores before it are restored, then it fails.
    const drifted = testConfig("snap", BASE, {
      postgres: { password: creds.postgres },
      redis: { password: creds.redis },
      minio: { rootPassword: creds.minio },
      qdrant: { apiKey: "not-the-live-key" },
    });
    const err = await snapshotRestore({ config: drifted, env, name: "base", yes: true, backup: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OperationError);
    expect((err as Error).message).toMatch(
      /^restoring snapshot base failed: Unauthorized; before that it had restored the images of dlt-snap-registry; restored database dify/,
    );
    expect((err as OperationError).hint).toMatch(/no automatic snapshot of the state before \(--no-backup\)/);
  });
});
