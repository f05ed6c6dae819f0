import { readFile } from "node:fs/promises";
import { isIP } from "node:net";
import type { Redis } from "ioredis";
import { z } from "zod";
import { check, checkUnlessProven, type Check } from "../../engine/index.js";
import { UserError, messageOf } from "../../errors.js";
import type { Failure } from "../external.js";
import { credential, filePath, hostname, port, secret, serviceSchema, withExternal } from "../fields.js";
import {
  PROBE_TIMEOUT_MS,
  defineService,
  hostPort,
  type Endpoint,
  type ExternalTarget,
  type FactSource,
  type ServiceContext,
} from "../service.js";
import { redisSnapshot } from "./snapshot.js";

/**
 * `redis.external`: a Redis dify-local does not run (ElastiCache, Memorystore, a server of your
 * own). Not in cluster mode: Dify does not support Redis Cluster (verify checks `INFO cluster`).
 */
export const redisExternalSchema = z
  .object({
    host: hostname,
    port: port.default(6379),
    /** Absent for a server without AUTH. */
    password: secret.optional(),
    /** An ACL user (Redis 6+); absent: the default user. */
    username: credential.optional(),
    tls: z.boolean({ invalid_type_error: "must be true or false" }).default(false),
    /** A CA certificate (PEM file) the server's certificate is checked against; default: the system's CAs. */
    ca: filePath.optional(),
    db: z
      .number({ invalid_type_error: "must be a database number" })
      .int("must be a whole number")
      .min(0, "must be 0 to 15")
      .max(15, "must be 0 to 15")
      .default(0),
  })
  .strict()
  .refine((e) => e.ca === undefined || e.tls, { message: "is only used with tls: true", path: ["ca"] });
export type RedisExternal = z.infer<typeof redisExternalSchema>;

const redisSection = serviceSchema(
  {
    port: port.default(6379),
    password: secret.default("devpassword"),
    appendonly: z.boolean().default(true),
  },
  { container: "dev-redis", image: "redis:7", volume: "dev-redis-data", restart: "unless-stopped" },
);
export const redisSchema = withExternal(redisSection, redisExternalSchema, ["port", "password"]);
export type RedisSettings = z.infer<typeof redisSchema>;

export interface RedisLive {
  /** Empty for an external server without AUTH. */
  password: string;
  source: FactSource;
  /** An external server's: its ACL user, TLS, CA file and database number. */
  username?: string;
  tls?: boolean;
  ca?: string;
  db?: number;
}

/** The password in a redis-server command line: `--requirepass X` (as dify-local runs it) or `--requirepass=X`. */
export function requirepass(cmd: readonly string[]): string | undefined {
  for (let i = 0; i < cmd.length; i++) {
    const arg = cmd[i] ?? "";
    if (arg === "--requirepass") return cmd[i + 1];
    if (arg.startsWith("--requirepass=")) return arg.slice("--requirepass=".length);
  }
  return undefined;
}

/** Redis's password from the container's `--requirepass`, else the config's. */
export function liveRedis(c: RedisSettings, container: { cmd: string[] } | undefined): RedisLive {
  const password = container ? requirepass(container.cmd) : undefined;
  return password === undefined ? { password: c.password, source: "config" } : { password, source: "container" };
}

/**
 * A fresh connection to the local Redis: no retries and no offline queue, so a call reports the
 * real state. The caller disconnects it.
 */
export async function redisClient(
  ctx: Pick<ServiceContext<RedisSettings, RedisLive>, "host" | "settings"> & { live?: RedisLive | undefined },
  password: string | undefined,
  timeoutMs = PROBE_TIMEOUT_MS,
): Promise<Redis> {
  // Loaded on first use: commands that never talk to Redis do not pay for it. Through `default`
  // (module.exports), as the bundled CLI gives a CommonJS library's chunk only that.
  const { Redis } = (await import("ioredis")).default;
  const live = ctx.live;
  const client = new Redis({
    host: ctx.host,
    port: ctx.settings.port,
    ...(password === undefined || password === "" ? {} : { password }),
    ...(live?.username ? { username: live.username } : {}),
    ...(live?.db ? { db: live.db } : {}),
    // SNI takes a name only: an IP address is checked against the certificate's IP entries instead.
    ...(live?.tls
      ? { tls: { ...(isIP(ctx.host) ? {} : { servername: ctx.host }), ...(live.ca ? { ca: await readCa(live.ca) } : {}) } }
      : {}),
    lazyConnect: true,
    connectTimeout: PROBE_TIMEOUT_MS,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    // The ready check sends INFO, which a password-protected server refuses before our PING.
    enableReadyCheck: false,
    // disconnect() ends the socket and arms a timer to destroy it; after a failed connect (a probe
    // while Redis starts) the socket has closed already, so nothing clears that timer and it kept
    // the CLI alive for its whole 2 s default after the work was done (seen in a cold `up`).
    disconnectTimeout: 0,
  });
  client.on("error", () => undefined);
  try {
    await client.connect();
  } catch (err) {
    client.disconnect();
    throw err;
  }
  return client;
}

async function readCa(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (err) {
    throw new UserError(`redis.external.ca: cannot read ${file}: ${(err as Error).message}`, { key: "redis.external.ca" });
  }
}

/**
 * Redis's own part of a failure: a refused password or user (WRONGPASS, NOAUTH), and a
 * connection the server closed before answering (what a TLS port does to a plaintext client).
 */
export function redisFailure(err: unknown): Failure | undefined {
  const answer = messageOf(err);
  if (/WRONGPASS|NOAUTH|invalid password|invalid username-password/i.test(answer)) return { kind: "auth", answer };
  if (/Connection is closed|ECONNRESET|socket hang up/i.test(answer))
    return { kind: "tls", answer: `${answer}: the server closed the connection unanswered (does it require TLS? redis.external.tls)` };
  return undefined;
}

/** `redis.external` as the container code reads it. */
function externalTarget(ext: RedisExternal, s: RedisSettings): ExternalTarget<RedisSettings, RedisLive> {
  return {
    host: ext.host,
    port: ext.port,
    tls: ext.tls ? "TLS" : "no TLS",
    settings: { ...s, port: ext.port, password: ext.password ?? "" },
    live: {
      password: ext.password ?? "",
      source: "external",
      tls: ext.tls,
      db: ext.db,
      ...(ext.username ? { username: ext.username } : {}),
      ...(ext.ca ? { ca: ext.ca } : {}),
    },
  };
}

function externalEndpoints(t: ExternalTarget<RedisSettings, RedisLive>): Endpoint[] {
  const url = `${t.live.tls ? "rediss" : "redis"}://${hostPort(t.host, t.port)}`;
  return [{ label: "Redis", host: url, cluster: url }];
}

/** Dify does not support Redis Cluster: `INFO cluster` must say cluster_enabled:0. */
export function clusterEnabled(info: string): boolean {
  return /^cluster_enabled:1\s*$/m.test(info);
}

/** One PING over a fresh connection; no retries, so a probe reports the real state. */
export async function redisPing(
  ctx: Pick<ServiceContext<RedisSettings, RedisLive>, "host" | "settings"> & { live?: RedisLive | undefined },
  password: string | undefined,
): Promise<string> {
  const client = await redisClient(ctx, password);
  try {
    return await client.ping();
  } finally {
    client.disconnect();
  }
}

type Ctx = ServiceContext<RedisSettings, RedisLive>;

function requirepassCheck(ctx: Ctx): Promise<Check> {
  return check(
    "redis.requirepass",
    "Redis refuses commands without the password (NOAUTH)",
    "`dify-local up` recreates the container with --requirepass",
    async () => {
      try {
        await redisPing(ctx, undefined);
      } catch (err) {
        if (/NOAUTH/i.test(String((err as Error).message))) return;
        throw err;
      }
      throw new Error("PING without a password succeeded: the server has no password");
    },
  );
}

function clusterModeCheck(ctx: Ctx): Promise<Check> {
  return check(
    "redis.cluster-mode",
    "Redis is not in cluster mode (Dify does not support Redis Cluster)",
    "use a Redis without cluster mode (ElastiCache: cluster mode disabled, one shard with replicas)",
    async () => {
      const client = await redisClient(ctx, ctx.settings.password);
      try {
        if (clusterEnabled(await client.info("cluster"))) throw new Error("INFO cluster says cluster_enabled:1");
      } finally {
        client.disconnect();
      }
    },
  );
}

export const redis = defineService<typeof redisSchema, RedisLive>({
  name: "redis",
  title: "Redis",
  schema: redisSchema,
  container: {
    dataDir: "/data",
    ports: (c) => [{ containerPort: 6379, hostPort: c.port, key: "port" }],
    cmd: (c) => ["redis-server", "--requirepass", c.password, "--appendonly", c.appendonly ? "yes" : "no"],
  },
  live: liveRedis,
  clients: () => import("ioredis"),
  proves: { probe: ["redis.auth"] },
  async probe(ctx) {
    const reply = await redisPing(ctx, ctx.settings.password);
    if (reply !== "PONG") throw new Error(`PING answered ${reply}`);
  },
  async checks(ctx) {
    const p = ctx.settings.port;
    const auth = await checkUnlessProven(
      ctx.proven,
      "redis.auth",
      ctx.external
        ? `Redis at ${ctx.external.address} (external, ${ctx.external.tls}) answers PING${ctx.settings.password ? " with the password" : ""}`
        : `Redis on ${ctx.host}:${p} answers PING with the password`,
      ctx.external
        ? "check redis.external (host, port, password, username, tls)"
        : "check redis.password in the config against the container's --requirepass; `dify-local up` recreates a drifted container",
      async () => {
        const reply = await redisPing(ctx, ctx.settings.password);
        if (reply !== "PONG") throw new Error(`answered ${reply}`);
      },
    );
    // An external server's password policy is its owner's; dify-local only checks its own containers'.
    return ctx.external ? [auth, await clusterModeCheck(ctx)] : [auth, await requirepassCheck(ctx)];
  },
  endpoints: (c, h) => [{ label: "Redis", host: `redis://${h.host}:${c.port}`, cluster: `redis://${h.cluster}:${c.port}` }],
  credentials: (_c, live) => [{ label: "password", value: live.password, secret: true }],
  values: (c, live, o) => ({
    externalRedis: {
      enabled: true,
      useSSL: live.tls ?? false,
      host: o.host,
      port: c.port,
      username: live.username ?? "",
      password: live.password,
      db: live.db ?? 0,
    },
    redis: { enabled: false },
  }),
  env: (c, live, host) => [
    {
      title: "Redis",
      entries: [
        ["REDIS_HOST", host],
        ["REDIS_PORT", String(c.port)],
        ["REDIS_USERNAME", live.username ?? ""],
        ["REDIS_PASSWORD", live.password],
        ["REDIS_USE_SSL", String(live.tls ?? false)],
        ["REDIS_DB", String(live.db ?? 0)],
        // Celery's broker is Redis database 1, as in the community .env; the password is a URL part there.
        ["CELERY_BROKER_URL", brokerUrl(live, host, c.port)],
        // The community .env's switch for Celery's TLS to the broker; only an external server may need it.
        ...(live.tls ? ([["BROKER_USE_SSL", "true"]] as Array<[string, string]>) : []),
      ],
    },
  ],
  snapshot: redisSnapshot,
  external: { connect: externalTarget, endpoints: externalEndpoints, classify: redisFailure },
});

/** Celery's broker URL: database 1 beside Dify's, `rediss://` with TLS; user and password are URL parts. */
function brokerUrl(live: RedisLive, host: string, p: number): string {
  const auth = live.password || live.username ? `${encodeURIComponent(live.username ?? "")}:${encodeURIComponent(live.password)}@` : "";
  return `${live.tls ? "rediss" : "redis"}://${auth}${hostPort(host, p)}/1`;
}
