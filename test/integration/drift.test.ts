/** (e) A changed port in the config recreates only that container and keeps its data. Real engine, real Redis. */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { RecordingSink, up } from "../../src/index.js";
import { cleanup, namesOf, snapshot, testConfig } from "../support/stack.js";

const BASE = 21100;
const config = testConfig("drift", BASE);
const { containers } = namesOf(config);

describe.skipIf(!inject("engine"))("drift", () => {
  beforeAll(() => cleanup(config));
  afterAll(() => cleanup(config));

  it("(e) recreates only the container whose port changed, and its data stays", async () => {
    expect((await up({ config })).ok).toBe(true);
    const redis = new Redis({ host: "127.0.0.1", port: BASE + 2, password: "devpassword", lazyConnect: true });
    await redis.connect();
    await redis.set("drift:key", "kept");
    // Make the AOF durable before the container goes away.
    await redis.bgrewriteaof().catch(() => undefined);
    redis.disconnect();
    const before = await snapshot(containers);

    const moved = testConfig("drift", BASE, { redis: { port: BASE + 10 } });
    const sink = new RecordingSink();
    const result = await up({ config: moved, sink });
    expect(result.ok).toBe(true);
    const recreated = result.plan.items.filter((i) => i.action === "recreate");
    expect(recreated.map((i) => i.container)).toEqual(["dlt-drift-redis"]);
    expect(recreated[0]?.reason).toContain("redis.port");
    expect(result.plan.items.filter((i) => i.action === "keep")).toHaveLength(4);

    const after = await snapshot(containers);
    for (const name of containers) {
      if (name === "dlt-drift-redis") expect(after[name]?.id).not.toBe(before[name]?.id);
      else expect(after[name]).toEqual(before[name]);
    }
    const moved2 = new Redis({ host: "127.0.0.1", port: BASE + 10, password: "devpassword", lazyConnect: true });
    await moved2.connect();
    expect(await moved2.get("drift:key")).toBe("kept");
    moved2.disconnect();
    expect(sink.events.find((e) => e.step === "redis container" && e.status === "ok")?.detail).toMatch(/^recreated .*volume kept/);
  });
});
