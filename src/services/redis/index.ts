import type { Redis } from "ioredis";
import { z } from "zod";
import { check } from "../../engine/index.js";
import { port, secret, serviceSchema } from "../fields.js";
import { PROBE_TIMEOUT_MS, defineService, type FactSource, type ServiceContext } from "../service.js";
import { redisSnapshot } from "./snapshot.js";

export const redisSchema = serviceSchema(
  {
    port: port.default(6379),
    password: secret.default("devpassword"),
    appendonly: z.boolean().default(true),
  },
  { container: "dev-redis", image: "redis:7", volume: "dev-redis-data", restart: "unless-stopped" },
);
export type RedisSettings = z.infer<typeof redisSchema>;

export interface RedisLive {
  password: string;
  source: FactSource;
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
  ctx: Pick<ServiceContext<RedisSettings, RedisLive>, "host" | "settings">,
  password: string | undefined,
  timeoutMs = PROBE_TIMEOUT_MS,
): Promise<Redis> {
  // Loaded on first use: commands that never talk to Redis do not pay for it. Through `default`
  // (module.exports), as the bundled CLI gives a CommonJS library's chunk only that.
  const { Redis } = (await import("ioredis")).default;
  const client = new Redis({
    host: ctx.host,
    port: ctx.settings.port,
    ...(password === undefined ? {} : { password }),
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

/** One PING over a fresh connection; no retries, so a probe reports the real state. */
export async function redisPing(
  ctx: Pick<ServiceContext<RedisSettings, RedisLive>, "host" | "settings">,
  password: string | undefined,
): Promise<string> {
  const client = await redisClient(ctx, password);
  try {
    return await client.ping();
  } finally {
    client.disconnect();
  }
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
  async probe(ctx) {
    const reply = await redisPing(ctx, ctx.settings.password);
    if (reply !== "PONG") throw new Error(`PING answered ${reply}`);
  },
  async checks(ctx) {
    const p = ctx.settings.port;
    return [
      await check(
        "redis.auth",
        `Redis on ${ctx.host}:${p} answers PING with the password`,
        "check redis.password in the config against the container's --requirepass; `dify-local up` recreates a drifted container",
        async () => {
          const reply = await redisPing(ctx, ctx.settings.password);
          if (reply !== "PONG") throw new Error(`answered ${reply}`);
        },
      ),
      await check(
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
      ),
    ];
  },
  endpoints: (c, h) => [{ label: "Redis", host: `redis://${h.host}:${c.port}`, cluster: `redis://${h.cluster}:${c.port}` }],
  credentials: (_c, live) => [{ label: "password", value: live.password, secret: true }],
  values: (c, live, o) => ({
    externalRedis: { enabled: true, useSSL: false, host: o.host, port: c.port, username: "", password: live.password, db: 0 },
    redis: { enabled: false },
  }),
  env: (c, live, host) => [
    {
      title: "Redis",
      entries: [
        ["REDIS_HOST", host],
        ["REDIS_PORT", String(c.port)],
        ["REDIS_USERNAME", ""],
        ["REDIS_PASSWORD", live.password],
        ["REDIS_USE_SSL", "false"],
        ["REDIS_DB", "0"],
        // Celery's broker is Redis database 1, as in the community .env; the password is a URL part there.
        ["CELERY_BROKER_URL", `redis://:${encodeURIComponent(live.password)}@${host}:${c.port}/1`],
      ],
    },
  ],
  snapshot: redisSnapshot,
});
