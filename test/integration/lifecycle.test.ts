/**
 * The foundation's acceptance list on a real Docker engine, with the seed's own names and ports
 * (only the images point at the locally built fixtures): zero-config up (a), an idempotent
 * rerun (b), data surviving down/up (c), and down --purge (d).
 *
 * Real servers: PostgreSQL, Redis, the registry. Stand-ins: MinIO (s3rver behind a SigV4- and
 * policy-checking front), Qdrant (a small double). See test/fixtures/images/README.md.
 */
import * as Minio from "minio";
import pg from "pg";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { down, RecordingSink, up } from "../../src/index.js";
import { buildTinyImage, pushImage, removeImage } from "../support/images.js";
import { cleanup, exists, guardSeedNames, namesOf, seedConfigWithFixtures, snapshot } from "../support/stack.js";

const config = seedConfigWithFixtures();
const { containers, volumes } = namesOf(config);
const PUSHED = "localhost:5050/dlt-lifecycle/hello:1";

describe.skipIf(!inject("engine"))("lifecycle with the seed's defaults", () => {
  beforeAll(async () => {
    await guardSeedNames(config);
    await cleanup(config);
  });
  afterAll(async () => {
    await cleanup(config);
    await removeImage(PUSHED);
  });

  it("(a) zero-config up brings every service up and every check passes", async () => {
    const sink = new RecordingSink();
    const result = await up({ config, sink });
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.checks.map((c) => c.id)).toEqual(
      expect.arrayContaining([
        "postgres.auth",
        "postgres.databases",
        "redis.auth",
        "redis.requirepass",
        "minio.credentials",
        "minio.auth",
        "minio.bucket",
        "minio.anonymous",
        "qdrant.auth",
        "qdrant.apikey-required",
        "registry.catalog",
      ]),
    );
    // What the readiness probes and inits made the same calls for is reported as shown by them, not
    // asked again; the rest (a refusal without credentials, the catalog) is asked.
    const detail = (id: string) => result.checks.find((c) => c.id === id)?.detail;
    expect(["postgres.auth", "postgres.databases", "minio.auth", "minio.anonymous", "qdrant.auth"].map(detail)).toEqual([
      "shown by postgres ready",
      "shown by postgres init",
      "shown by minio ready",
      "shown by minio init",
      "shown by qdrant ready",
    ]);
    expect(detail("redis.requirepass")).toBeUndefined();
    expect(detail("registry.catalog")).toMatch(/repositories/);
    for (const name of containers) expect(await exists("container", name)).toBe(true);
    // PostgreSQL, the slowest to initialise, is started before any other container is made.
    const steps = sink.events.map((e) => `${e.step} ${e.status}`);
    const postgresStarted = steps.indexOf("postgres container ok");
    const othersBegan = steps.findIndex((s) => / container start$/.test(s) && !s.startsWith("postgres "));
    expect(postgresStarted).toBeGreaterThanOrEqual(0);
    expect(othersBegan).toBeGreaterThan(postgresStarted);

    // The four databases, listed through pg with the seed's password.
    const client = new pg.Client({ host: "127.0.0.1", port: 55432, user: "postgres", password: "devpassword", database: "postgres" });
    await client.connect();
    const dbs = await client.query<{ datname: string }>("SELECT datname FROM pg_database ORDER BY datname");
    await client.query("CREATE TABLE IF NOT EXISTS keepme (v text)");
    await client.query("INSERT INTO keepme VALUES ('row survives')");
    await client.end();
    expect(dbs.rows.map((r) => r.datname)).toEqual(expect.arrayContaining(["dify", "plugin_daemon", "enterprise", "audit"]));

    // PING with the password works; without it the server answers NOAUTH.
    const authed = new Redis({ host: "127.0.0.1", port: 6379, password: "devpassword", lazyConnect: true });
    await authed.connect();
    expect(await authed.ping()).toBe("PONG");
    await authed.set("dlt:key", "key survives");
    authed.disconnect();
    const anon = new Redis({ host: "127.0.0.1", port: 6379, lazyConnect: true, maxRetriesPerRequest: 0, enableReadyCheck: false });
    anon.on("error", () => undefined);
    await anon.connect();
    await expect(anon.ping()).rejects.toThrow(/NOAUTH/);
    anon.disconnect();

    // S3 with the root credentials works; a wrong secret is refused as MinIO refuses it.
    const s3 = new Minio.Client({
      endPoint: "127.0.0.1",
      port: 9000,
      useSSL: false,
      accessKey: "minioadmin",
      secretKey: "minioadmin123",
      pathStyle: true,
    });
    await s3.putObject("dify", "privkeys/t1/private.pem", Buffer.from("object survives"));
    const body = await s3.getObject("dify", "privkeys/t1/private.pem");
    expect(await streamText(body)).toBe("object survives");
    const wrong = new Minio.Client({
      endPoint: "127.0.0.1",
      port: 9000,
      useSSL: false,
      accessKey: "minioadmin",
      secretKey: "wrong-secret",
      pathStyle: true,
    });
    await expect(wrong.putObject("dify", "x.txt", Buffer.from("no"))).rejects.toMatchObject({ code: "SignatureDoesNotMatch" });
    // The bucket is public, as `mc anonymous set public` makes it.
    const anonymous = await fetch("http://127.0.0.1:9000/dify/privkeys/t1/private.pem");
    expect(anonymous.status).toBe(200);

    // A small image pushed through the engine appears in the catalog.
    await buildTinyImage(PUSHED);
    await pushImage(PUSHED);
    const catalog = (await (await fetch("http://127.0.0.1:5050/v2/_catalog")).json()) as { repositories: string[] };
    expect(catalog.repositories).toContain("dlt-lifecycle/hello");

    // Published ports bind to loopback by default.
    const events = sink.events.filter((e) => e.step.endsWith(" container") && e.status === "ok");
    expect(events.map((e) => e.detail)).toEqual(Array(5).fill("created"));
  });

  it("(b) a second up changes nothing: same container ids and start times, and the events say so", async () => {
    const before = await snapshot(containers);
    const sink = new RecordingSink();
    const result = await up({ config, sink });
    expect(result.ok).toBe(true);
    expect(result.changes).toEqual([]);
    expect(result.plan.items.every((i) => i.action === "keep")).toBe(true);
    expect(await snapshot(containers)).toEqual(before);
    const containerEvents = sink.events.filter((e) => e.step.endsWith(" container") && e.status === "ok");
    expect(containerEvents).toHaveLength(5);
    for (const e of containerEvents) expect(e.detail).toMatch(/^unchanged/);
    for (const e of sink.events.filter((e) => e.step.endsWith(" init") && e.status === "ok")) expect(e.detail).toBe("nothing to do");
    expect(sink.events.at(-1)).toMatchObject({ step: "up", status: "ok", detail: "no changes" });
    // The dry run of a converged stack is empty too.
    const dry = await up({ config, dryRun: true });
    expect(dry.plan.items.filter((i) => i.action !== "keep")).toEqual([]);
  });

  it("(c) data survives down then up: a row, a Redis key, an object, a pushed image", async () => {
    const result = await down({ config });
    expect(result.removed.sort()).toEqual([...containers].sort());
    for (const name of containers) expect(await exists("container", name)).toBe(false);
    for (const v of volumes) expect(await exists("volume", v)).toBe(true);

    expect((await up({ config })).ok).toBe(true);

    const client = new pg.Client({ host: "127.0.0.1", port: 55432, user: "postgres", password: "devpassword", database: "postgres" });
    await client.connect();
    expect((await client.query("SELECT v FROM keepme")).rows).toEqual([{ v: "row survives" }]);
    await client.end();

    const redis = new Redis({ host: "127.0.0.1", port: 6379, password: "devpassword", lazyConnect: true });
    await redis.connect();
    expect(await redis.get("dlt:key")).toBe("key survives");
    redis.disconnect();

    const s3 = new Minio.Client({
      endPoint: "127.0.0.1",
      port: 9000,
      useSSL: false,
      accessKey: "minioadmin",
      secretKey: "minioadmin123",
      pathStyle: true,
    });
    expect(await streamText(await s3.getObject("dify", "privkeys/t1/private.pem"))).toBe("object survives");

    const tags = (await (await fetch("http://127.0.0.1:5050/v2/dlt-lifecycle/hello/tags/list")).json()) as { tags: string[] };
    expect(tags.tags).toEqual(["1"]);
  });

  it("(d) down --purge removes the volumes", async () => {
    const result = await down({ config, purge: true });
    expect(result.volumesRemoved.sort()).toEqual([...volumes].sort());
    for (const v of volumes) expect(await exists("volume", v)).toBe(false);
    for (const name of containers) expect(await exists("container", name)).toBe(false);
  });
});

async function streamText(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks).toString("utf8");
}
