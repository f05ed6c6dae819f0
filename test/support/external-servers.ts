/**
 * Servers that stand for external services in the tests: started by the test itself, outside
 * dify-local (own names, ports and passwords), the way a managed PostgreSQL, Redis or Qdrant
 * already exists before `up`. PostgreSQL and Redis are the real servers of the fixture images, with
 * TLS on a self-signed certificate made here with openssl; Qdrant is the fixtures' double.
 */
import { execFile } from "node:child_process";
import { chmod, chown, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import * as Minio from "minio";
import pg from "pg";
import { pollUntil } from "../../src/util/index.js";
import { FIXTURE_IMAGES } from "./fixtures.js";
import { docker } from "./stack.js";

const run = promisify(execFile);

/** The fixture images run PostgreSQL and Redis as uid 100: the key must be theirs (PostgreSQL refuses a key others can read). */
const SERVER_UID = 100;

/** A directory with a self-signed certificate for localhost and 127.0.0.1, its key, and a pg_hba.conf that only allows TLS. */
export async function makeCerts(): Promise<{ dir: string; ca: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "dlt-ext-certs-"));
  await run("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "2",
    "-subj",
    "/CN=localhost",
    "-addext",
    "subjectAltName=DNS:localhost,IP:127.0.0.1",
    "-keyout",
    join(dir, "server.key"),
    "-out",
    join(dir, "server.crt"),
  ]);
  // `hostssl` only: a client without TLS finds no rule ("no encryption"), as on a server that requires TLS.
  await writeFile(join(dir, "pg_hba.conf"), "local all all trust\nhostssl all all all scram-sha-256\n");
  for (const f of ["server.key", "server.crt", "pg_hba.conf"]) await chown(join(dir, f), SERVER_UID, 0);
  // mkdtemp makes it 0700: the servers (not root) must get through it to their files.
  await chmod(dir, 0o755);
  return { dir, ca: join(dir, "server.crt"), remove: () => rm(dir, { recursive: true, force: true }) };
}

async function startContainer(name: string, options: Record<string, unknown>): Promise<void> {
  await removeContainer(name);
  const c = await docker.createContainer({ name, ...options });
  await c.start();
}

export async function removeContainer(name: string): Promise<void> {
  await docker
    .getContainer(name)
    .remove({ force: true, v: true })
    .catch(() => undefined);
}

function published(port: number, containerPort: number, certs?: string): Record<string, unknown> {
  return {
    ExposedPorts: { [`${containerPort}/tcp`]: {} },
    HostConfig: {
      PortBindings: { [`${containerPort}/tcp`]: [{ HostIp: "127.0.0.1", HostPort: String(port) }] },
      ...(certs ? { Binds: [`${certs}:/certs:ro`] } : {}),
    },
  };
}

/**
 * PostgreSQL with TLS required (pg_hba `hostssl` only), superuser `postgres` / `admin`, and
 * `owner` (CREATEDB, not superuser, as a managed server's main user) / `ownerPassword`. Resolves
 * once a TLS login succeeds.
 */
export async function startPostgres(
  name: string,
  port: number,
  certs: string,
  pw: { admin: string; owner: string; limited: string },
): Promise<void> {
  await startContainer(name, {
    Image: FIXTURE_IMAGES.postgres,
    Env: [`POSTGRES_PASSWORD=${pw.admin}`],
    Cmd: [
      "postgres",
      "-c",
      "ssl=on",
      "-c",
      "ssl_cert_file=/certs/server.crt",
      "-c",
      "ssl_key_file=/certs/server.key",
      "-c",
      "hba_file=/certs/pg_hba.conf",
    ],
    ...published(port, 5432, certs),
  });
  await pollUntil(
    async () => {
      try {
        await asAdmin(port, pw.admin, async (c) => {
          await c.query(`CREATE ROLE owner LOGIN CREATEDB PASSWORD '${pw.owner}'`);
          await c.query(`CREATE ROLE limited LOGIN PASSWORD '${pw.limited}'`);
        });
        return true;
      } catch {
        return undefined;
      }
    },
    { timeoutMs: 60_000, initialMs: 100, maxMs: 500, onTimeout: () => new Error(`${name} did not accept a TLS login within 60 s`) },
  );
}

/** Runs `body` as the superuser over TLS, on `database`. */
export async function asAdmin<T>(port: number, password: string, body: (c: pg.Client) => Promise<T>, database = "postgres"): Promise<T> {
  const client = new pg.Client({ host: "127.0.0.1", port, user: "postgres", password, database, ssl: { rejectUnauthorized: false } });
  client.on("error", () => undefined);
  await client.connect();
  try {
    return await body(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Redis that speaks TLS only (no plaintext port), with a password. Resolves once it runs. */
export async function startRedisTls(name: string, port: number, certs: string, password: string): Promise<void> {
  await startContainer(name, {
    Image: FIXTURE_IMAGES.redis,
    Cmd: [
      "redis-server",
      "--port",
      "0",
      "--tls-port",
      "6379",
      "--tls-cert-file",
      "/certs/server.crt",
      "--tls-key-file",
      "/certs/server.key",
      "--tls-auth-clients",
      "no",
      "--requirepass",
      password,
    ],
    ...published(port, 6379, certs),
  });
  await waitRunning(name, /Ready to accept connections/);
}

/** A plain Redis in cluster mode (`--cluster-enabled yes`): what Dify does not support. */
export async function startRedisCluster(name: string, port: number, password: string): Promise<void> {
  await startContainer(name, {
    Image: FIXTURE_IMAGES.redis,
    Cmd: ["redis-server", "--cluster-enabled", "yes", "--requirepass", password],
    ...published(port, 6379),
  });
  await waitRunning(name, /Ready to accept connections/);
}

/** The Qdrant double with an api-key. */
export async function startQdrant(name: string, port: number, apiKey: string): Promise<void> {
  await startContainer(name, { Image: FIXTURE_IMAGES.qdrant, Env: [`QDRANT__SERVICE__API_KEY=${apiKey}`], ...published(port, 6333) });
  await pollUntil(
    async () => {
      const res = await fetch(`http://127.0.0.1:${port}/collections`, { headers: { "api-key": apiKey } }).catch(() => undefined);
      return res?.ok ? true : undefined;
    },
    { timeoutMs: 30_000, initialMs: 100, maxMs: 500, onTimeout: () => new Error(`${name} did not answer within 30 s`) },
  );
}

async function waitRunning(name: string, line: RegExp): Promise<void> {
  await pollUntil(
    async () => {
      const logs = (await docker.getContainer(name).logs({ stdout: true, stderr: true })).toString("utf8");
      return line.test(logs) ? true : undefined;
    },
    { timeoutMs: 30_000, initialMs: 100, maxMs: 500, onTimeout: () => new Error(`${name} did not log ${String(line)} within 30 s`) },
  );
}

/** A client of the S3 stand-in on 127.0.0.1:`port` with its keys: the test's own view of the external bucket. */
export function s3Admin(port: number, accessKey: string, secretKey: string): Minio.Client {
  return new Minio.Client({ endPoint: "127.0.0.1", port, useSSL: false, accessKey, secretKey, region: "us-east-1", pathStyle: true });
}

/** The MinIO stand-in (s3rver behind a SigV4-checking front) as an existing S3-compatible service, with its own keys. */
export async function startS3(name: string, port: number, accessKey: string, secretKey: string): Promise<void> {
  await startContainer(name, {
    Image: FIXTURE_IMAGES.minio,
    Cmd: ["server", "/data"],
    Env: [`MINIO_ROOT_USER=${accessKey}`, `MINIO_ROOT_PASSWORD=${secretKey}`],
    ...published(port, 9000),
  });
  // Ready when a signed request with the keys succeeds (the stand-in's SigV4 front and its store both answer).
  const client = s3Admin(port, accessKey, secretKey);
  await pollUntil(
    () =>
      client.listBuckets().then(
        () => true as const,
        () => undefined,
      ),
    { timeoutMs: 60_000, initialMs: 100, maxMs: 500, onTimeout: () => new Error(`${name} did not answer within 60 s`) },
  );
}

/** The registry fixture (the real registry:2 server) as an existing plain-HTTP registry. */
export async function startRegistry(name: string, port: number): Promise<void> {
  await startContainer(name, { Image: FIXTURE_IMAGES.registry, ...published(port, 5000) });
  await pollUntil(async () => ((await fetch(`http://127.0.0.1:${port}/v2/`).catch(() => undefined))?.status === 200 ? true : undefined), {
    timeoutMs: 60_000,
    initialMs: 100,
    maxMs: 500,
    onTimeout: () => new Error(`${name} did not answer within 60 s`),
  });
}
