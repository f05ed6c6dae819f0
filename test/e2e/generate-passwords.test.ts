/**
 * Opt-in strong credentials (issue 8 §7), through the built CLI on the real engine (real
 * PostgreSQL and Redis, the MinIO stand-in, the Qdrant double): a stack brought up with the seed's
 * passwords, with a row, a key, an object and a collection in it, is switched by
 * `up --generate-passwords`. Afterwards every service answers with the generated credentials (and
 * PostgreSQL no longer with the seed's), every datum is still there, `verify` is green, `values`
 * renders the new ones, `info` shows them masked, and no output but `info --show-secrets` and
 * `values` contains them.
 */
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { QdrantClient } from "@qdrant/js-client-rest";
import { Redis } from "ioredis";
import * as Minio from "minio";
import pg from "pg";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { runCli, type CliRun } from "../support/cli.js";
import { cleanup, testConfig } from "../support/stack.js";

const BASE = 23700;
const config = testConfig("genpw", BASE);
const SEED = { postgres: "devpassword", redis: "devpassword", minio: "minioadmin123", qdrant: "devpassword" };
type Creds = typeof SEED;

let dir: string;
let configDir: string;
const runs: Array<{ args: string[]; run: CliRun; mayShowSecrets: boolean }> = [];

async function cli(args: string[], options: { mayShowSecrets?: boolean } = {}): Promise<CliRun> {
  const run = await runCli(args, dir, { DIFY_LOCAL_CONFIG_DIR: configDir });
  runs.push({ args, run, mayShowSecrets: options.mayShowSecrets ?? false });
  return run;
}

async function sql<T extends pg.QueryResultRow>(password: string, query: string): Promise<T[]> {
  const client = new pg.Client({ host: "127.0.0.1", port: BASE + 1, user: "postgres", password, database: "dify" });
  await client.connect();
  try {
    return (await client.query<T>(query)).rows;
  } finally {
    await client.end();
  }
}

async function withRedis<T>(password: string, body: (r: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis({ host: "127.0.0.1", port: BASE + 2, password, lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    return await body(redis);
  } finally {
    redis.disconnect();
  }
}

const s3 = (secretKey: string) =>
  new Minio.Client({ endPoint: "127.0.0.1", port: BASE + 3, useSSL: false, accessKey: "minioadmin", secretKey, pathStyle: true });
const qdrant = (apiKey: string) => new QdrantClient({ url: `http://127.0.0.1:${BASE + 5}`, apiKey, checkCompatibility: false });

async function streamText(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks).toString("utf8");
}

async function writeData(c: Creds): Promise<void> {
  await sql(c.postgres, "CREATE TABLE genpw (v text); INSERT INTO genpw VALUES ('row-kept')");
  await withRedis(c.redis, async (r) => {
    await r.set("genpw:key", "key-kept");
    await r.bgrewriteaof().catch(() => undefined);
  });
  await s3(c.minio).putObject("dify", "genpw/object.txt", Buffer.from("object-kept"));
  await qdrant(c.qdrant).createCollection("genpw", { vectors: { size: 4, distance: "Cosine" } });
}

async function expectData(c: Creds): Promise<void> {
  expect(await sql<{ v: string }>(c.postgres, "SELECT v FROM genpw")).toEqual([{ v: "row-kept" }]);
  expect(await withRedis(c.redis, (r) => r.get("genpw:key"))).toBe("key-kept");
  expect(await streamText(await s3(c.minio).getObject("dify", "genpw/object.txt"))).toBe("object-kept");
  expect((await qdrant(c.qdrant).collectionExists("genpw")).exists).toBe(true);
}

/** The generated set, as kept in the user's config directory. */
async function generated(): Promise<{ creds: Creds; file: string }> {
  const folder = join(configDir, "credentials");
  const files = await readdir(folder);
  expect(files).toHaveLength(1);
  const file = join(folder, files[0] ?? "");
  const { values } = JSON.parse(await readFile(file, "utf8")) as { values: Record<string, Record<string, string>> };
  const creds = {
    postgres: values.postgres?.password ?? "",
    redis: values.redis?.password ?? "",
    minio: values.minio?.rootPassword ?? "",
    qdrant: values.qdrant?.apiKey ?? "",
  };
  return { creds, file };
}

describe.skipIf(!inject("engine"))("up --generate-passwords switches a seeded stack in place (the built CLI)", () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "dlt-e2e-genpw-"));
    configDir = join(dir, "user-config");
    await writeFile(join(dir, "dify-local.yaml"), stringify(config));
    await cleanup(config);
  });
  afterAll(async () => {
    await cleanup(config);
    await rm(dir, { recursive: true, force: true });
  });

  it("keeps every datum, answers with the new credentials only, and prints them only where asked", async () => {
    const seeded = await cli(["up"]);
    expect(seeded.code, seeded.stderr).toBe(0);
    await writeData(SEED);
    // A dry run plans the switch but keeps nothing: later commands still use the seed's.
    expect((await cli(["up", "--dry-run", "--generate-passwords"])).code).toBe(0);
    await expect(readdir(join(configDir, "credentials"))).rejects.toThrow();

    const switched = await cli(["up", "--generate-passwords"]);
    expect(switched.code, switched.stderr).toBe(0);
    expect(switched.stdout).toContain("changed the password of postgres in place");
    const { creds, file } = await generated();
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    for (const [service, value] of Object.entries(creds)) expect(value, service).toMatch(/^[A-Za-z0-9]{32}$/);

    await expectData(creds);
    // The seed's passwords no longer open anything.
    await expect(sql(SEED.postgres, "SELECT 1")).rejects.toThrow(/password authentication failed/);
    await expect(withRedis(creds.redis, (r) => r.call("AUTH", SEED.redis))).rejects.toThrow(/WRONGPASS/);
    await expect(qdrant(SEED.qdrant).getCollections()).rejects.toThrow();
    await expect(s3(SEED.minio).getObject("dify", "genpw/object.txt")).rejects.toThrow(/signature/i);

    // Every later command, without the flag, uses the generated set.
    for (const args of [["verify"], ["verify", "--json"], ["status"], ["status", "--json"], ["info"], ["info", "--json"], ["up"]]) {
      const run = await cli(args);
      expect(run.code, `${args.join(" ")}: ${run.stdout}${run.stderr}`).toBe(0);
    }
    expect(runs.at(-1)?.run.stdout).toContain("up to date: nothing changed");
    expect(runs.find((r) => r.args.join(" ") === "info")?.run.stdout).toContain("password   ********");
    expect((await cli(["doctor"])).code).toBeLessThanOrEqual(1);

    const shown = await cli(["info", "--show-secrets"], { mayShowSecrets: true });
    const values = await cli(["values"], { mayShowSecrets: true });
    for (const value of Object.values(creds)) {
      expect(shown.stdout).toContain(value);
      expect(values.stdout).toContain(value);
    }
    const leaks = runs
      .filter((r) => !r.mayShowSecrets)
      .flatMap((r) =>
        Object.values(creds).flatMap((s) =>
          (["stdout", "stderr"] as const).filter((stream) => r.run[stream].includes(s)).map((stream) => `${r.args.join(" ")} (${stream})`),
        ),
      );
    expect(leaks).toEqual([]);
    for (const run of [shown, values]) for (const s of Object.values(creds)) expect(run.stderr).not.toContain(s);
  });
});
