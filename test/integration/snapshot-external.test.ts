/**
 * Moving a local install to a shared one (issue 12): a snapshot of a local stack restored into a
 * configuration whose PostgreSQL, Redis and Qdrant are external. PostgreSQL is a real server this
 * test starts outside dify-local (TLS required by its pg_hba, a self-signed certificate checked
 * with `verify-full` against the test's CA), logged in as a CREATEDB user that is not superuser,
 * as on a managed server; Redis is a real TLS server, Qdrant the fixtures' double. MinIO stays
 * local, but for one case with `minio.external` on the MinIO stand-in started as another S3.
 */
import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { stringify } from "yaml";
import { QdrantClient } from "@qdrant/js-client-rest";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { OperationError, snapshotCreate, snapshotRestore, snapshotRestorePlan, up, UserError, type ConfigInput } from "../../src/index.js";
import { readManifest, snapshotsDir } from "../../src/stack/index.js";
import { pollUntil } from "../../src/util/index.js";
import { CliChild } from "../support/cli-child.js";
import { seedS3 } from "../support/clients.js";
import {
  asAdmin,
  makeCerts,
  removeContainer,
  s3Admin,
  startPostgres,
  startQdrant,
  startRedisTls,
  startS3,
} from "../support/external-servers.js";
import { cleanup, docker, testConfig } from "../support/stack.js";

const BASE = 31300;
const PG_PORT = BASE + 10;
const REDIS_PORT = BASE + 11;
const QDRANT_PORT = BASE + 12;
const S3_PORT = BASE + 13;
const SERVERS = ["dlt-xsnap-srv-postgres", "dlt-xsnap-srv-redis", "dlt-xsnap-srv-qdrant", "dlt-xsnap-srv-s3"] as const;
const PW = { admin: "xs-admin-pw-1", owner: "xs-owner-pw-2", limited: "xs-limited-pw-3", redis: "xs-redis-pw-4", qdrant: "xs-qdrant-5" };
const TENANT = "0b7e1f4c-2d3a-4e5b-9c6d-7e8f9a0b1c2d";
const KEY = `privkeys/${TENANT}/private.pem`;

const local = testConfig("xsnap", BASE, { registry: { enabled: false } });

/** `local` with PostgreSQL, Redis and Qdrant external (their connection keys left out, as the schema wants). */
function movedConfig(ca: string, login: { user: string; password: string } = { user: "owner", password: PW.owner }): ConfigInput {
  const strip = (name: string, keys: string[]): Record<string, unknown> => {
    const section = { ...(local[name] as Record<string, unknown>) };
    for (const k of keys) delete section[k];
    return section;
  };
  return {
    ...local,
    postgres: {
      ...strip("postgres", ["port", "user", "password"]),
      external: { host: "127.0.0.1", port: PG_PORT, ...login, sslmode: "verify-full", ca },
    },
    redis: {
      ...strip("redis", ["port", "password"]),
      external: { host: "127.0.0.1", port: REDIS_PORT, password: PW.redis, tls: true, ca },
    },
    qdrant: { ...strip("qdrant", ["port", "grpcPort", "apiKey"]), external: { url: `http://127.0.0.1:${QDRANT_PORT}`, apiKey: PW.qdrant } },
  };
}

async function localSql(db: string, text: string): Promise<pg.QueryResultRow[]> {
  const client = new pg.Client({ host: "127.0.0.1", port: BASE + 1, user: "postgres", password: "devpassword", database: db });
  await client.connect();
  try {
    return (await client.query<pg.QueryResultRow>(text)).rows;
  } finally {
    await client.end();
  }
}

/** Rows of a query on the external server, as its superuser (what the test sees, not what dify-local did). */
const externalSql = (db: string, text: string): Promise<pg.QueryResultRow[]> =>
  asAdmin(PG_PORT, PW.admin, async (c) => (await c.query<pg.QueryResultRow>(text)).rows, db);

/** A connection to the external server's dify database (TLS, the certificate not checked: the test's own server). */
async function difyClient(user: string, password: string): Promise<pg.Client> {
  const client = new pg.Client({ host: "127.0.0.1", port: PG_PORT, user, password, database: "dify", ssl: { rejectUnauthorized: false } });
  await client.connect();
  return client;
}

/** Runs `text` on the external server's dify database as the configured (non-superuser) user, as another tenant of it would. */
async function asOwner(text: string): Promise<void> {
  const owner = await difyClient("owner", PW.owner);
  try {
    await owner.query(text);
  } finally {
    await owner.end();
  }
}

async function objectText(client: ReturnType<typeof seedS3>, bucket: string, key: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of await client.getObject(bucket, key)) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

const helperContainers = async (): Promise<string[]> =>
  (await docker.listContainers({ all: true, filters: JSON.stringify({ label: ["dify-local.helper"] }) })).map((c) => c.Names.join(","));

describe.skipIf(!inject("engine"))("snapshot restore into external PostgreSQL, Redis and Qdrant", () => {
  let dir: string;
  let certs: Awaited<ReturnType<typeof makeCerts>>;
  let moved: ConfigInput;
  let env: NodeJS.ProcessEnv;
  const privateKey = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
  }).privateKey;

  beforeAll(async () => {
    // Only this test makes pg-restore helpers: one an earlier, broken run left would fail the checks below.
    for (const c of await docker.listContainers({ all: true, filters: JSON.stringify({ label: ["dify-local.helper=pg-restore"] }) }))
      await docker.getContainer(c.Id).remove({ force: true });
    dir = await mkdtemp(join(tmpdir(), "dlt-xsnap-"));
    env = { ...process.env, DIFY_LOCAL_DATA_DIR: join(dir, "data"), DIFY_LOCAL_CONFIG_DIR: join(dir, "config") };
    await cleanup(local);
    certs = await makeCerts();
    moved = movedConfig(certs.ca);
    await Promise.all([
      startPostgres(SERVERS[0], PG_PORT, certs.dir, PW),
      startRedisTls(SERVERS[1], REDIS_PORT, certs.dir, PW.redis),
      startQdrant(SERVERS[2], QDRANT_PORT, PW.qdrant),
    ]);
    const made = await up({ config: local, env });
    expect(made.ok).toBe(true);
    // The local install: a table in dify, a private key under privkeys/, a Qdrant collection with a point.
    await localSql("dify", "CREATE TABLE t (x int PRIMARY KEY, label text); INSERT INTO t VALUES (1, 'one'), (2, 'two')");
    await localSql("audit", "CREATE TABLE a (y text); INSERT INTO a VALUES ('logged')");
    await seedS3(BASE + 3).putObject("dify", KEY, privateKey);
    const q = new QdrantClient({ url: `http://127.0.0.1:${BASE + 5}`, headers: { "api-key": "devpassword" }, checkCompatibility: false });
    await q.createCollection("docs", { vectors: { size: 2, distance: "Cosine" } });
    await q.upsert("docs", { wait: true, points: [{ id: 1, vector: [0.1, 0.9], payload: { doc: "a" } }] });
    await snapshotCreate({ config: local, env, name: "move" });
    // The shared server already has a database of someone else's, and a table of its own in dify.
    await asAdmin(PG_PORT, PW.admin, async (c) => {
      await c.query("CREATE DATABASE bystander");
      await c.query("CREATE DATABASE dify OWNER owner");
    });
    await externalSql("bystander", "CREATE TABLE theirs (z text); INSERT INTO theirs VALUES ('keep')");
    await asOwner("CREATE TABLE keep_me (k text); INSERT INTO keep_me VALUES ('mine')");
  }, 240_000);

  afterAll(async () => {
    await cleanup(local);
    await Promise.all(SERVERS.map(removeContainer));
    await certs?.remove();
    await rm(dir, { recursive: true, force: true });
  });

  it("snapshot create still refuses a configuration with an external store, naming its key", async () => {
    const err = await snapshotCreate({ config: moved, env, name: "never" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).key).toBe("postgres.external");
    expect((err as Error).message).toMatch(/snapshot create covers the stores dify-local runs.*nothing was written/);
  });

  it("refuses with the pre-restore backup on (it cannot cover an external store), naming --no-backup; nothing changes", async () => {
    const err = await snapshotRestore({ config: moved, env, name: "move", yes: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toMatch(
      /replaces data in external stores \(PostgreSQL at 127\.0\.0\.1:\d+, Qdrant at 127\.0\.0\.1:\d+\)/,
    );
    expect((err as UserError).key).toBe("--no-backup");
    expect(await externalSql("dify", "SELECT to_regclass('public.t')::text AS t")).toEqual([{ t: null }]);
  });

  it("plans what is replaced in the external stores, and says Redis is not restored and vectors do not cross engines", async () => {
    const plan = await snapshotRestorePlan({ config: moved, env, name: "move", backup: false });
    expect(plan.replaces.join("\n")).toContain(
      `in databases dify, plugin_daemon, enterprise, audit at 127.0.0.1:${PG_PORT} (external): every table, view, sequence and function the snapshot has`,
    );
    expect(plan.replaces.join("\n")).toContain("no database is dropped");
    expect(plan.replaces.join("\n")).toContain(`the snapshot's collections in the Qdrant at http://127.0.0.1:${QDRANT_PORT} (external`);
    expect(plan.replaces.join("\n")).not.toContain("every key");
    expect(plan.notes).toEqual([
      expect.stringMatching(/^Redis is external: its keys are not restored/),
      expect.stringMatching(/vector data does not carry across engines.*re-index/),
    ]);
  });

  it("restores the dumps into the external server through a helper container that is gone afterwards, dropping nothing else", async () => {
    // The private key is lost locally: the restore must bring it back with the rows.
    await seedS3(BASE + 3).removeObject("dify", KEY);
    const result = await snapshotRestore({ config: moved, env, name: "move", yes: true, backup: false });
    expect(result.backup).toBeUndefined();
    expect(result.restored).toEqual(
      expect.arrayContaining([
        "created database plugin_daemon",
        "created database enterprise",
        "created database audit",
        `restored database dify at 127.0.0.1:${PG_PORT} (its objects replaced; nothing else dropped)`,
        `restored the snapshot's 1 collections into the Qdrant at 127.0.0.1:${QDRANT_PORT} (others kept)`,
      ]),
    );
    expect(result.restored).not.toContain("created database dify");
    expect(await externalSql("dify", "SELECT x, label FROM t ORDER BY x")).toEqual([
      { x: 1, label: "one" },
      { x: 2, label: "two" },
    ]);
    expect(await externalSql("audit", "SELECT y FROM a")).toEqual([{ y: "logged" }]);
    // --no-owner: the restored table belongs to the configured user, not to the local superuser.
    expect(await externalSql("dify", "SELECT tableowner FROM pg_tables WHERE tablename = 't'")).toEqual([{ tableowner: "owner" }]);
    // Nothing outside the restored objects went: the other database and dify's own extra table.
    expect(await externalSql("bystander", "SELECT z FROM theirs")).toEqual([{ z: "keep" }]);
    expect(await externalSql("dify", "SELECT k FROM keep_me")).toEqual([{ k: "mine" }]);
    expect(await helperContainers()).toEqual([]);
    expect(await objectText(seedS3(BASE + 3), "dify", KEY)).toBe(privateKey);
    const q = new QdrantClient({ url: `http://127.0.0.1:${QDRANT_PORT}`, headers: { "api-key": PW.qdrant }, checkCompatibility: false });
    expect((await q.scroll("docs")).points.map((p) => p.payload)).toEqual([{ doc: "a" }]);
    expect(result.notes.join("\n")).toMatch(/Redis is external.*not restored/);
    expect(result.notes.join("\n")).toMatch(/vector data does not carry across engines/);
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);
  }, 180_000);

  it("a pg_restore the server refuses fails naming it, and the helper container is gone as well", async () => {
    // Someone made a view on the restored table: pg_restore --clean cannot drop t (no CASCADE on a shared server).
    await asOwner("CREATE VIEW v AS SELECT x FROM t");
    const err = await snapshotRestore({ config: moved, env, name: "move", yes: true, backup: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OperationError);
    expect((err as Error).message).toMatch(/pg_restore of database dify into 127\.0\.0\.1:\d+ failed \(exit 1\): .*depend/s);
    expect(await helperContainers()).toEqual([]);
    expect(await externalSql("dify", "SELECT count(*)::int AS n FROM v")).toEqual([{ n: 2 }]);
  }, 120_000);

  it("a login pg_restore is refused while the dump still streams in fails with the server's answer (not a broken pipe)", async () => {
    // A dump larger than the socket's buffers: pg_restore ends before it has read its input.
    await localSql("dify", "CREATE TABLE big AS SELECT g, md5(g::text) || md5((g * 7)::text) AS h FROM generate_series(1, 400000) g");
    await snapshotCreate({ config: local, env, name: "big" });
    await externalSql("postgres", "REVOKE CONNECT ON DATABASE dify FROM PUBLIC");
    const config = movedConfig(certs.ca, { user: "limited", password: PW.limited });
    const err = await snapshotRestore({ config, env, name: "big", yes: true, backup: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OperationError);
    expect((err as Error).message).toMatch(
      /pg_restore of database dify into .* failed \(exit 1\): .*permission denied for database "?dify/s,
    );
    expect(await helperContainers()).toEqual([]);
  }, 180_000);

  it("dify-local killed while pg_restore runs: the engine removes the helper once pg_restore ends (its input closed)", async () => {
    await asOwner("DROP VIEW IF EXISTS v");
    await writeFile(join(dir, "moved.yaml"), stringify(moved));
    // Another session holds t: pg_restore's DROP TABLE waits on it, so the helper is caught running.
    const holder = await difyClient("postgres", PW.admin);
    await holder.query("BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE");
    const child = new CliChild(["snapshot", "restore", "move", "--yes", "--no-backup", "--config", join(dir, "moved.yaml")], env);
    try {
      await pollUntil(
        async () => {
          // Another session: pg_stat_activity is read once per transaction, and the holder's stays open.
          const waiting = await externalSql(
            "postgres",
            "SELECT 1 FROM pg_stat_activity WHERE application_name = 'pg_restore' AND wait_event_type = 'Lock'",
          );
          return waiting.length > 0 ? true : undefined;
        },
        {
          timeoutMs: 60_000,
          initialMs: 50,
          maxMs: 250,
          onTimeout: () => new Error(`pg_restore never waited on the held table; the CLI: ${child.stderr} ${JSON.stringify(child.lines)}`),
        },
      );
      expect(await helperContainers()).toHaveLength(1);
      child.child.kill("SIGKILL");
      await child.exited();
    } finally {
      await holder.query("ROLLBACK").catch(() => undefined);
      await holder.end();
      await child.stop();
    }
    await pollUntil(async () => ((await helperContainers()).length === 0 ? true : undefined), {
      timeoutMs: 60_000,
      initialMs: 100,
      maxMs: 500,
      onTimeout: () => new Error("the pg_restore helper was not removed after its command ended"),
    });
  }, 180_000);

  it("with only Redis external (not restored), the pre-restore snapshot is taken of the local stores", async () => {
    const { port: _p, password: _pw, ...redisSection } = local.redis as Record<string, unknown>;
    const config = {
      ...local,
      redis: { ...redisSection, external: { host: "127.0.0.1", port: REDIS_PORT, password: PW.redis, tls: true, ca: certs.ca } },
    };
    const result = await snapshotRestore({ config, env, name: "move", yes: true });
    expect(result.ok).toBe(true);
    expect(result.notes).toEqual([expect.stringMatching(/^Redis is external: its keys are not restored/)]);
    expect(result.backup).toMatch(/^pre-restore-/);
    const backup = await readManifest(join(snapshotsDir(env), result.backup ?? ""));
    if ("problem" in backup) throw new Error(backup.problem);
    expect(backup.manifest.services.map((s) => s.service)).toEqual(["postgres", "minio", "qdrant"]);
    expect(result.restored.join("\n")).not.toMatch(/redis|keys/i);
  }, 120_000);

  it("minio.external: the objects go into the external bucket with its keys (privkeys/ included), its other objects and policy kept", async () => {
    await startS3(SERVERS[3], S3_PORT, "xs-s3-user", "xs-s3-secret-6");
    const s3 = s3Admin(S3_PORT, "xs-s3-user", "xs-s3-secret-6");
    await s3.makeBucket("shared", "us-east-1");
    await s3.putObject("shared", "someone/else.txt", "theirs");
    const { port: _p, consolePort: _c, ...minioSection } = local.minio as Record<string, unknown>;
    const config = {
      ...local,
      minio: {
        ...minioSection,
        external: { endpoint: `http://127.0.0.1:${S3_PORT}`, bucket: "shared", accessKey: "xs-s3-user", secretKey: "xs-s3-secret-6" },
      },
    };
    const plan = await snapshotRestorePlan({ config, env, name: "move", backup: false });
    expect(plan.replaces).toContain(
      `the snapshot's objects (privkeys/ included) in bucket shared at http://127.0.0.1:${S3_PORT} (external; objects of the same key overwritten, the others kept; its policy left as it is)`,
    );
    const result = await snapshotRestore({ config, env, name: "move", yes: true, backup: false });
    expect(result.restored).toContain(
      `wrote the snapshot's 1 objects into bucket shared at http://127.0.0.1:${S3_PORT} (external) (others kept)`,
    );
    expect(await objectText(s3, "shared", KEY)).toBe(privateKey);
    expect(await objectText(s3, "shared", "someone/else.txt")).toBe("theirs");
    expect(await s3.getBucketPolicy("shared").catch(() => "")).toBe("");
  }, 120_000);
});
