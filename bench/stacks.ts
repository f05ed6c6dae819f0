/**
 * The stacks the bench measures, each with its own names and ports (23600-23699), so the bench
 * never touches a developer's stack or a test's:
 * - dify-local's: `dlt-bench-*` on 23600-23606, from a dify-local.yaml in a scratch directory;
 * - the same stack as a compose file (`dlt-benchc-*` on 23650-23656): same fixture images,
 *   environment, commands, named volumes and loopback ports, for `docker-compose up -d` / `ps`;
 * - PostgreSQL alone (`dlt-bench-pgalone` on 23690), the slowest service.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as Minio from "minio";
import pg from "pg";
import { Redis } from "ioredis";
import { stringify } from "yaml";
import { anonymousPolicy } from "../src/services/minio/policy.js";
import { pollUntil } from "../src/util/index.js";
import { FIXTURE_IMAGES } from "../test/support/fixtures.js";
import { cleanup, docker, testConfig } from "../test/support/stack.js";

export const BASE = 23600;
export const COMPOSE_BASE = 23650;
export const PG_ALONE_PORT = 23690;
export const COMPOSE_PROJECT = "dlbench";

/** The dify-local stack the CLI runs against (cluster disabled). */
export const config = testConfig("bench", BASE);
const composeNames = testConfig("benchc", COMPOSE_BASE);
const PASSWORD = "devpassword";
const DATABASES = ["dify", "plugin_daemon", "enterprise", "audit"];
const PG_ALONE = { container: "dlt-bench-pgalone", volume: "dlt-bench-pgalone-data" };

export interface Workspace {
  /** Holds dify-local.yaml (the CLI runs here, as a user would) and docker-compose.yml. */
  dir: string;
  composeFile: string;
}

export async function makeWorkspace(): Promise<Workspace> {
  const dir = await mkdtemp(join(tmpdir(), "dlb-"));
  await writeFile(join(dir, "dify-local.yaml"), stringify(config));
  const composeFile = join(dir, "docker-compose.yml");
  await writeFile(composeFile, composeYaml());
  return { dir, composeFile };
}

/** The compose file equivalent to the bench config: what a tutorial user would run instead. */
function composeYaml(): string {
  const n = (svc: string) => `dlt-benchc-${svc}`;
  const p = (offset: number, inner: number) => `127.0.0.1:${COMPOSE_BASE + offset}:${inner}`;
  const svc = (name: string, image: string, dataDir: string, ports: string[], extra: object, restart = "unless-stopped") => ({
    image,
    container_name: n(name),
    ports,
    volumes: [`${n(name)}-data:${dataDir}`],
    restart,
    ...extra,
  });
  return stringify({
    version: "3.8",
    services: {
      registry: svc("registry", FIXTURE_IMAGES.registry, "/var/lib/registry", [p(0, 5000)], {}, "always"),
      postgres: svc("postgres", FIXTURE_IMAGES.postgres, "/var/lib/postgresql/data", [p(1, 5432)], {
        environment: { POSTGRES_USER: "postgres", POSTGRES_PASSWORD: PASSWORD },
      }),
      redis: svc("redis", FIXTURE_IMAGES.redis, "/data", [p(2, 6379)], {
        // A string: compose reads YAML 1.1, where a bare `yes` in a list is a boolean.
        command: `redis-server --requirepass ${PASSWORD} --appendonly yes`,
      }),
      minio: svc("minio", FIXTURE_IMAGES.minio, "/data", [p(3, 9000), p(4, 9001)], {
        command: ["server", "/data", "--console-address", ":9001"],
        environment: { MINIO_ROOT_USER: "minioadmin", MINIO_ROOT_PASSWORD: "minioadmin123" },
      }),
      qdrant: svc("qdrant", FIXTURE_IMAGES.qdrant, "/qdrant/storage", [p(5, 6333), p(6, 6334)], {
        environment: { QDRANT__SERVICE__API_KEY: PASSWORD },
      }),
    },
    volumes: Object.fromEntries(
      ["registry", "postgres", "redis", "minio", "qdrant"].map((s) => [`${n(s)}-data`, { name: `${n(s)}-data` }]),
    ),
  });
}

export function composeArgs(ws: Workspace, ...args: string[]): string[] {
  return ["-p", COMPOSE_PROJECT, "-f", ws.composeFile, ...args];
}

/** Removes everything the bench made: both stacks, PostgreSQL alone, the compose network, the scratch directory. */
export async function cleanupAll(ws: Workspace | undefined): Promise<void> {
  await cleanupStack();
  await cleanupCompose(ws);
  await cleanupPgAlone();
  if (ws) await rm(ws.dir, { recursive: true, force: true });
}

export async function cleanupStack(): Promise<void> {
  await cleanup(config);
}

export async function cleanupCompose(ws: Workspace | undefined): Promise<void> {
  if (ws) await exec("docker-compose", composeArgs(ws, "down", "-v", "--remove-orphans"), ws.dir).catch(() => undefined);
  await cleanup(composeNames);
}

export async function cleanupPgAlone(): Promise<void> {
  await cleanup({}, { containers: [PG_ALONE.container], volumes: [PG_ALONE.volume] }).catch(() => undefined);
  await docker
    .getVolume(PG_ALONE.volume)
    .remove()
    .catch(() => undefined);
}

/** Runs a command to completion; rejects with its output when it fails. */
export function exec(cmd: string, args: readonly string[], cwd?: string): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(cmd, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.on("error", fail);
    child.on("close", (code) => (code === 0 ? done(out) : fail(new Error(`${cmd} ${args.join(" ")} exited ${code}:\n${out}`))));
  });
}

// ---- waiting the seed's way: the lightest real round trip per service, polled every 25-100 ms ----

const POLL = { initialMs: 25, maxMs: 100, factor: 1.5, timeoutMs: 120_000 };

async function until(what: string, attempt: () => Promise<unknown>): Promise<void> {
  let last = "";
  await pollUntil(
    async () => {
      try {
        await attempt();
        return true;
      } catch (err) {
        last = err instanceof Error ? err.message : String(err);
        return undefined;
      }
    },
    { ...POLL, onTimeout: () => new Error(`${what} did not answer: ${last}`) },
  );
}

/** Waits for SELECT 1, then creates the four databases (psql's CREATE DATABASE, as the seed does). */
async function postgresReadyAndInit(port: number): Promise<void> {
  const connect = async () => {
    const c = new pg.Client({ host: "127.0.0.1", port, user: "postgres", password: PASSWORD, database: "postgres" });
    c.on("error", () => undefined);
    try {
      await c.connect();
      await c.query("SELECT 1");
    } catch (err) {
      await c.end().catch(() => undefined);
      throw err;
    }
    return c;
  };
  await until("postgres", async () => (await connect()).end());
  const client = await connect();
  try {
    for (const db of DATABASES) await client.query(`CREATE DATABASE ${db}`);
  } finally {
    await client.end();
  }
}

async function redisReady(port: number): Promise<void> {
  await until("redis", async () => {
    const r = new Redis({
      host: "127.0.0.1",
      port,
      password: PASSWORD,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    r.on("error", () => undefined);
    try {
      await r.connect();
      await r.ping();
    } finally {
      r.disconnect();
    }
  });
}

async function minioReadyAndInit(port: number): Promise<void> {
  const s3 = new Minio.Client({
    endPoint: "127.0.0.1",
    port,
    useSSL: false,
    accessKey: "minioadmin",
    secretKey: "minioadmin123",
    region: "us-east-1",
    pathStyle: true,
  });
  await until("minio", () => s3.listBuckets());
  await s3.makeBucket("dify", "us-east-1");
  await s3.setBucketPolicy("dify", anonymousPolicy("dify", "public") ?? "");
}

async function httpReady(what: string, url: string, headers: Record<string, string> = {}): Promise<void> {
  await until(what, async () => {
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(3000) });
    if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
  });
}

/** The seed's way, cold: `docker-compose up -d`, then every service answering, the databases and the bucket made. */
export async function seedWayCold(ws: Workspace): Promise<void> {
  await exec("docker-compose", composeArgs(ws, "up", "-d"), ws.dir);
  await Promise.all([
    httpReady("registry", `http://127.0.0.1:${COMPOSE_BASE}/v2/`),
    postgresReadyAndInit(COMPOSE_BASE + 1),
    redisReady(COMPOSE_BASE + 2),
    minioReadyAndInit(COMPOSE_BASE + 3),
    httpReady("qdrant", `http://127.0.0.1:${COMPOSE_BASE + 5}/collections`, { "api-key": PASSWORD }),
  ]);
}

/** The slowest service alone, cold: `docker run` PostgreSQL on a new volume until SELECT 1 and its four databases exist. */
export async function postgresAloneCold(): Promise<void> {
  await exec("docker", [
    "run",
    "-d",
    "--name",
    PG_ALONE.container,
    "-e",
    "POSTGRES_USER=postgres",
    "-e",
    `POSTGRES_PASSWORD=${PASSWORD}`,
    "-p",
    `127.0.0.1:${PG_ALONE_PORT}:5432`,
    "-v",
    `${PG_ALONE.volume}:/var/lib/postgresql/data`,
    FIXTURE_IMAGES.postgres,
  ]);
  await postgresReadyAndInit(PG_ALONE_PORT);
}
