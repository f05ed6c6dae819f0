/**
 * A sixth, test-only service registered through the public interface (`defineService` and the
 * `services` option): `up`, `status`, `verify`, `info` and `values` pick it up, and the config's
 * port validation covers it, with no other file of dify-local changed. It runs the real Redis
 * fixture under its own name, port and volume, probed with a real PING.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  check,
  defineService,
  info,
  port,
  SERVICES,
  serviceSchema,
  status,
  up,
  UserError,
  values,
  verify,
  type ConfigInput,
} from "../../src/index.js";
import { FIXTURE_IMAGES } from "../support/fixtures.js";
import { cleanup, docker, exists, testConfig } from "../support/stack.js";

const BASE = 22100;
const MEMO = { container: "dlt-six-memo", volume: "dlt-six-memo-data", port: BASE + 7 };

const memoSchema = serviceSchema(
  { port: port.default(MEMO.port) },
  { container: MEMO.container, image: FIXTURE_IMAGES.redis, volume: MEMO.volume, restart: "no" },
);

async function ping(host: string, p: number): Promise<string> {
  const client = new Redis({
    host,
    port: p,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  client.on("error", () => undefined);
  try {
    await client.connect();
    return await client.ping();
  } finally {
    client.disconnect();
  }
}

const memo = defineService({
  name: "memo",
  title: "Memo cache",
  schema: memoSchema,
  container: {
    dataDir: "/data",
    ports: (c) => [{ containerPort: 6379, hostPort: c.port, key: "port" }],
    cmd: () => ["redis-server", "--appendonly", "no"],
  },
  async probe(ctx) {
    if ((await ping(ctx.host, ctx.settings.port)) !== "PONG") throw new Error("no PONG");
  },
  async init() {
    return ["warmed the memo cache"];
  },
  async checks(ctx) {
    return [
      await check(
        "memo.ping",
        `memo answers PING on ${ctx.settings.port}`,
        "dify-local up",
        async () => void (await ping(ctx.host, ctx.settings.port)),
      ),
    ];
  },
  endpoints: (c, h) => [{ label: "Memo", host: `redis://${h.host}:${c.port}`, cluster: `redis://${h.cluster}:${c.port}` }],
  credentials: () => [{ label: "db", value: "0", secret: false }],
  values: (c, _live, o) => ({ memo: { enabled: false, externalHost: o.host, externalPort: c.port } }),
});

const services = [...SERVICES, memo];
const config: ConfigInput = testConfig("six", BASE, { memo: {} });
let secretsDir: string;

describe.skipIf(!inject("engine"))("a sixth service through the public interface", () => {
  beforeAll(async () => {
    await cleanup(config, { containers: [MEMO.container], volumes: [MEMO.volume] });
    secretsDir = await mkdtemp(join(tmpdir(), "dlt-six-"));
  });
  afterAll(async () => {
    await cleanup(config, { containers: [MEMO.container], volumes: [MEMO.volume] });
    await rm(secretsDir, { recursive: true, force: true });
  });

  it("up creates, readies and initialises it beside the five, and verifies it", async () => {
    const result = await up({ config, services });
    expect(result.ok).toBe(true);
    expect(result.plan.items.find((i) => i.component === "memo")).toMatchObject({ container: MEMO.container, action: "create" });
    expect(result.changes).toContain(`${MEMO.container}: created`);
    expect(result.changes).toContain(`${MEMO.container}: warmed the memo cache`);
    expect(result.checks.filter((c) => c.id.startsWith("memo.")).map((c) => [c.id, c.ok])).toEqual([
      ["memo.container", true],
      ["memo.ping", true],
    ]);
    const inspected = await docker.getContainer(MEMO.container).inspect();
    expect(inspected.Config.Labels["dify-local.component"]).toBe("memo");
    expect(inspected.HostConfig.PortBindings["6379/tcp"]).toEqual([{ HostIp: "127.0.0.1", HostPort: String(MEMO.port) }]);
    expect(await exists("volume", MEMO.volume)).toBe(true);
  });

  it("status, verify, info and values include it", async () => {
    const rows = (await status({ config, services })).services;
    expect(rows.find((r) => r.service === "memo")).toMatchObject({
      container: MEMO.container,
      state: "running",
      owner: "dify-local",
      health: "healthy",
    });
    const checks = (await verify({ config, services })).checks;
    expect(checks.find((c) => c.id === "memo.ping")?.ok).toBe(true);
    const memoInfo = (await info({ config, services })).services.find((s) => s.service === "memo");
    expect(memoInfo?.endpoints).toEqual([
      { label: "Memo", host: `redis://127.0.0.1:${MEMO.port}`, cluster: `redis://host.docker.internal:${MEMO.port}` },
    ]);
    expect(memoInfo?.credentials).toEqual([{ label: "db", value: "0", masked: false }]);
    const rendered = await values({ config, services, secretsDir });
    expect(parse(rendered.text ?? "")).toMatchObject({
      memo: { enabled: false, externalHost: "host.docker.internal", externalPort: MEMO.port },
    });
  });

  it("a rerun changes nothing, the sixth service included", async () => {
    const again = await up({ config, services });
    expect(again.changes.filter((c) => !c.endsWith("warmed the memo cache"))).toEqual([]);
    expect(again.plan.items.every((i) => i.action === "keep")).toBe(true);
  });

  it("its port takes part in the config's port check, and its section is validated", async () => {
    const clash = up({ config: testConfig("six", BASE, { memo: { port: BASE + 2 } }), services });
    await expect(clash).rejects.toBeInstanceOf(UserError);
    await expect(clash).rejects.toThrow(/memo\.port: uses port 22102, already used by redis\.port/);
    await expect(up({ config: testConfig("six", BASE, { memo: { colour: "blue" } }), services })).rejects.toThrow(
      /memo\.colour: unknown key/,
    );
  });
});
