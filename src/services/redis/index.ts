import { Redis } from "ioredis";
import { CLUSTER_HOST, PROBE_TIMEOUT_MS, check, probeHost, type Component, type ServiceContext } from "../component.js";

/** One PING over a fresh connection; no retries, so a probe reports the real state. */
export async function redisPing(ctx: ServiceContext, password: string | undefined): Promise<string> {
  const client = new Redis({
    host: ctx.host,
    port: ctx.config.redis.port,
    ...(password === undefined ? {} : { password }),
    lazyConnect: true,
    connectTimeout: PROBE_TIMEOUT_MS,
    commandTimeout: PROBE_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    // The ready check sends INFO, which a password-protected server refuses before our PING.
    enableReadyCheck: false,
  });
  client.on("error", () => undefined);
  try {
    await client.connect();
    return await client.ping();
  } finally {
    client.disconnect();
  }
}

export const redis: Component = {
  name: "redis",
  title: "Redis",
  spec(config) {
    const c = config.redis;
    return {
      component: "redis",
      name: c.container,
      image: c.image,
      env: {},
      cmd: ["redis-server", "--requirepass", c.password, "--appendonly", c.appendonly ? "yes" : "no"],
      ports: [{ containerPort: 6379, hostPort: c.port, hostIp: config.bind, key: "redis.port" }],
      volumes: [{ volume: c.volume, target: "/data" }],
      restart: c.restart,
    };
  },
  async probe(ctx) {
    const reply = await redisPing(ctx, ctx.config.redis.password);
    if (reply !== "PONG") throw new Error(`PING answered ${reply}`);
  },
  async checks(ctx) {
    const port = ctx.config.redis.port;
    return [
      await check("redis.auth", `Redis on ${ctx.host}:${port} answers PING with the password`, "check redis.password in the config against the container's --requirepass; `dify-local up` recreates a drifted container", async () => {
        const reply = await redisPing(ctx, ctx.config.redis.password);
        if (reply !== "PONG") throw new Error(`answered ${reply}`);
      }),
      await check("redis.requirepass", "Redis refuses commands without the password (NOAUTH)", "`dify-local up` recreates the container with --requirepass", async () => {
        try {
          await redisPing(ctx, undefined);
        } catch (err) {
          if (/NOAUTH/i.test(String((err as Error).message))) return;
          throw err;
        }
        throw new Error("PING without a password succeeded: the server has no password");
      }),
    ];
  },
  endpoints(config) {
    return [{ label: "Redis", host: `redis://${probeHost(config)}:${config.redis.port}`, cluster: `redis://${CLUSTER_HOST}:${config.redis.port}` }];
  },
  credentials(config) {
    return [{ label: "password", value: config.redis.password, secret: true }];
  },
};
