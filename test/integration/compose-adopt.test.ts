/**
 * A stack made earlier by a compose file, as the tutorial's users have it: the same container
 * names, images and passwords as the config, data in bind mounts (`./data/<service>`), ports on
 * 0.0.0.0, and Redis started as `redis-server --appendonly yes --requirepass ...` (the arguments in
 * another order than dify-local's). Made by the real `docker-compose` (Debian's), on the real
 * engine, with a row, a key, an object and a pushed image in it. `up` adopts it as it is; `up
 * --recreate` with other ports replaces every container, and every datum is still readable
 * through its service afterwards, from the same files.
 */
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as Minio from "minio";
import pg from "pg";
import { Redis } from "ioredis";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ConflictError, RecordingSink, registryList, status, up, verify, type ConfigInput } from "../../src/index.js";
import { FIXTURE_IMAGES } from "../support/fixtures.js";
import { buildTinyImage, pushImage, removeImage } from "../support/images.js";
import { cleanup, docker, namesOf, testConfig } from "../support/stack.js";

const BASE = 22700;
const MOVED = BASE + 50;
const config = testConfig("compose", BASE);
const moved: ConfigInput = testConfig("compose", MOVED);
const names = namesOf(config);
const PUSHED = `localhost:${BASE}/dlt-compose/plugin:1`;
const PROJECT = "dltcompose";
let dir: string;

/** The compose file a tutorial user would have: same names, images and secrets as the config; bind mounts; 0.0.0.0. */
function composeFile(): string {
  const n = (svc: string) => `dlt-compose-${svc}`;
  return stringify({
    version: "3.8",
    services: {
      registry: {
        image: FIXTURE_IMAGES.registry,
        container_name: n("registry"),
        ports: [`${BASE}:5000`],
        volumes: ["./data/registry:/var/lib/registry"],
      },
      postgres: {
        image: FIXTURE_IMAGES.postgres,
        container_name: n("postgres"),
        environment: { POSTGRES_USER: "postgres", POSTGRES_PASSWORD: "devpassword" },
        ports: [`${BASE + 1}:5432`],
        volumes: ["./data/postgres:/var/lib/postgresql/data"],
      },
      redis: {
        image: FIXTURE_IMAGES.redis,
        container_name: n("redis"),
        command: "redis-server --appendonly yes --requirepass devpassword",
        ports: [`${BASE + 2}:6379`],
        volumes: ["./data/redis:/data"],
      },
      minio: {
        image: FIXTURE_IMAGES.minio,
        container_name: n("minio"),
        command: "server /data --console-address :9001",
        environment: { MINIO_ROOT_USER: "minioadmin", MINIO_ROOT_PASSWORD: "minioadmin123" },
        ports: [`${BASE + 3}:9000`, `${BASE + 4}:9001`],
        volumes: ["./data/minio:/data"],
      },
      qdrant: {
        image: FIXTURE_IMAGES.qdrant,
        container_name: n("qdrant"),
        environment: { QDRANT__SERVICE__API_KEY: "devpassword" },
        ports: [`${BASE + 5}:6333`, `${BASE + 6}:6334`],
        volumes: ["./data/qdrant:/qdrant/storage"],
      },
    },
  });
}

async function writeData(): Promise<void> {
  const client = new pg.Client({ host: "127.0.0.1", port: BASE + 1, user: "postgres", password: "devpassword", database: "postgres" });
  await client.connect();
  await client.query("CREATE TABLE keepme (v text)");
  await client.query("INSERT INTO keepme VALUES ('row survives')");
  await client.end();
  const redis = new Redis({ host: "127.0.0.1", port: BASE + 2, password: "devpassword", lazyConnect: true });
  await redis.connect();
  await redis.set("dlt:compose", "key survives");
  redis.disconnect();
  const s3 = s3For(BASE + 3);
  await s3.makeBucket("dify", "us-east-1");
  await s3.putObject("dify", "privkeys/t1/private.pem", Buffer.from("object survives"));
  await buildTinyImage(PUSHED, `compose ${Date.now()}`);
  await pushImage(PUSHED);
}

function s3For(port: number): Minio.Client {
  return new Minio.Client({
    endPoint: "127.0.0.1",
    port,
    useSSL: false,
    accessKey: "minioadmin",
    secretKey: "minioadmin123",
    region: "us-east-1",
    pathStyle: true,
  });
}

/** Every datum written before, read back through its service on `base`'s ports. */
async function readData(base: number): Promise<string[]> {
  const client = new pg.Client({ host: "127.0.0.1", port: base + 1, user: "postgres", password: "devpassword", database: "postgres" });
  await client.connect();
  const row = (await client.query<{ v: string }>("SELECT v FROM keepme")).rows[0]?.v ?? "";
  await client.end();
  const redis = new Redis({ host: "127.0.0.1", port: base + 2, password: "devpassword", lazyConnect: true });
  await redis.connect();
  const key = (await redis.get("dlt:compose")) ?? "";
  redis.disconnect();
  const chunks: Buffer[] = [];
  for await (const c of await s3For(base + 3).getObject("dify", "privkeys/t1/private.pem")) chunks.push(Buffer.from(c as Uint8Array));
  const registry = await registryList({ config: base === BASE ? config : moved });
  const image = registry.repositories.some((r) => r.name === "dlt-compose/plugin" && r.tags.includes("1")) ? "image survives" : "";
  return [row, key, Buffer.concat(chunks).toString(), image];
}

const ALL = ["row survives", "key survives", "object survives", "image survives"];

describe.skipIf(!inject("engine"))("a stack made by a compose file", () => {
  beforeAll(async () => {
    await cleanup(config);
    dir = await mkdtemp(join(tmpdir(), "dlt-compose-"));
    await writeFile(join(dir, "docker-compose.yml"), composeFile());
    const made = spawnSync("docker-compose", ["-p", PROJECT, "up", "-d"], { cwd: dir, encoding: "utf8" });
    if (made.status !== 0) throw new Error(`docker-compose up failed: ${made.stderr}`);
    // Wait for each service the way the tutorial's user does: until it answers.
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        await writeData();
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  });
  afterAll(async () => {
    await cleanup(config);
    await removeImage(PUSHED);
    // The volumes --recreate made are bindings of ./data: removing them leaves the files, removed with the folder.
    await rm(dir, { recursive: true, force: true });
  });

  it("up adopts it as it is: the arguments' order does not matter, the data stays in ./data, 0.0.0.0 is warned about", async () => {
    const sink = new RecordingSink();
    const result = await up({ config, sink });
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);
    expect(result.plan.items.map((i) => i.action)).toEqual(["adopt", "adopt", "adopt", "adopt", "adopt"]);
    expect(result.plan.items.find((i) => i.component === "redis")?.data).toEqual({
      now: `host path ${dir}/data/redis`,
      after: `host path ${dir}/data/redis`,
    });
    expect(sink.events.filter((e) => e.status === "warn").map((e) => e.detail)).toContain(
      `dlt-compose-redis is published on 0.0.0.0:${BASE + 2}, beyond 127.0.0.1: reachable from your network`,
    );
    expect((await status({ config })).services.find((s) => s.service === "postgres")).toMatchObject({
      owner: "adopted",
      data: `host path ${dir}/data/postgres`,
    });
    expect(await readData(BASE)).toEqual(ALL);
  });

  it("a differing config without --recreate stops, saying what --recreate does with the data", async () => {
    const err = await up({ config: moved }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as ConflictError).hint).toContain("each new container uses the data the old one had");
  });

  it("--recreate stops before any change when the config's volume name is taken by another volume", async () => {
    await docker.createVolume({ Name: "dlt-compose-qdrant-data" });
    try {
      const before = (await docker.listContainers({ all: true })).map((c) => c.Id).sort();
      const err = await up({ config: moved, recreate: true }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConflictError);
      expect((err as Error).message).toContain(
        `dlt-compose-qdrant keeps its data in host path ${dir}/data/qdrant, but volume dlt-compose-qdrant-data exists already`,
      );
      expect((await docker.listContainers({ all: true })).map((c) => c.Id).sort()).toEqual(before);
    } finally {
      await docker.getVolume("dlt-compose-qdrant-data").remove();
    }
  });

  it("up --recreate --dry-run shows where each service's data is and will be; --recreate keeps every datum readable", async () => {
    const dry = await up({ config: moved, recreate: true, dryRun: true });
    const redis = dry.plan.items.find((i) => i.component === "redis");
    expect(redis?.data).toEqual({
      now: `host path ${dir}/data/redis`,
      after: `volume dlt-compose-redis-data, bound to the same files (${dir}/data/redis)`,
    });

    const result = await up({ config: moved, recreate: true });
    expect(result.plan.items.map((i) => i.action)).toEqual(["recreate", "recreate", "recreate", "recreate", "recreate"]);
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);
    expect(await readData(MOVED)).toEqual(ALL);
    const volume = (await docker.getVolume("dlt-compose-redis-data").inspect()) as { Options?: Record<string, string> };
    expect(volume.Options).toMatchObject({ type: "none", o: "bind", device: `${dir}/data/redis` });

    // Ours now: a rerun keeps every container, and the data is where it was.
    const again = await up({ config: moved });
    expect(again.plan.items.every((i) => i.action === "keep")).toBe(true);
    expect((await verify({ config: moved })).ok).toBe(true);
    expect(names.containers).toHaveLength(5);
  });
});
