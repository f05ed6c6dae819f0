/**
 * Image pulls through the Engine API, for real: a registry container (the registry fixture, the
 * real distribution server) on its own port holds an image the test pushed there; the config points
 * an image reference at it; `up` pulls it with progress. A reference that does not exist fails,
 * naming the image and the registry's error, and leaves everything as it was.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { OperationError, RecordingSink, up } from "../../src/index.js";
import { FIXTURE_IMAGES } from "../support/fixtures.js";
import { randomBytes } from "node:crypto";
import { buildTinyImage, imageExists, pushImage, removeImage } from "../support/images.js";
import { cleanup, docker, exists, namesOf, testConfig } from "../support/stack.js";

const BASE = 21400;
const SOURCE_PORT = BASE + 50;
const SOURCE = "dlt-pull-source";
const REF = `localhost:${SOURCE_PORT}/fixtures/redis:7`;
const config = testConfig("pull", BASE, { redis: { image: REF } });

describe.skipIf(!inject("engine"))("image pulls", () => {
  beforeAll(async () => {
    await cleanup(config, { containers: [SOURCE] });
    const source = await docker.createContainer({
      name: SOURCE,
      Image: FIXTURE_IMAGES.registry,
      HostConfig: { PortBindings: { "5000/tcp": [{ HostIp: "127.0.0.1", HostPort: String(SOURCE_PORT) }] } },
      ExposedPorts: { "5000/tcp": {} },
    });
    await source.start();
    for (let i = 0; i < 50; i++) {
      // Bounded: an attempt answered by the port's proxy before the registry serves must not hang the setup.
      const ok = await fetch(`http://127.0.0.1:${SOURCE_PORT}/v2/`, { signal: AbortSignal.timeout(2000) }).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    // The redis fixture plus a layer of random bytes that exists nowhere else, so the pull really
    // downloads (and reports bytes) instead of finding every layer present.
    await buildTinyImage(REF, randomBytes(4 * 1024 * 1024), FIXTURE_IMAGES.redis);
    await pushImage(REF);
    await removeImage(REF);
    expect(await imageExists(REF)).toBe(false);
  });
  afterAll(async () => {
    await cleanup(config, { containers: [SOURCE] });
    await removeImage(REF);
  });

  it("a missing image reference fails naming the image and the registry's error; nothing is created", async () => {
    const bad = testConfig("pull", BASE, { redis: { image: `localhost:${SOURCE_PORT}/fixtures/nope:1` } });
    const err = await up({ config: bad }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OperationError);
    expect((err as Error).message).toContain(`pulling image localhost:${SOURCE_PORT}/fixtures/nope:1 failed: not found`);
    for (const c of namesOf(bad).containers) expect(await exists("container", c)).toBe(false);
  });

  it("pulls a missing image with byte progress, then uses it; present images are not pulled again", async () => {
    const sink = new RecordingSink();
    const result = await up({ config, sink });
    expect(result.ok).toBe(true);
    const pullEvents = sink.events.filter((e) => e.step === `image ${REF}`);
    expect(pullEvents.some((e) => e.status === "progress" && (e.progress?.total ?? 0) > 0)).toBe(true);
    expect(pullEvents.at(-1)).toMatchObject({ status: "ok", detail: "pulled" });
    expect(await imageExists(REF)).toBe(true);

    await cleanup(config, {});
    const again = new RecordingSink();
    expect((await up({ config, sink: again })).ok).toBe(true);
    expect(again.events.filter((e) => e.step === `image ${REF}`)).toEqual([{ step: `image ${REF}`, status: "skip", detail: "present" }]);
  });

  it("--pull always fetches a newer image and recreates the container that runs it", async () => {
    // The registry gets a new REF while the engine keeps the old one under that name.
    const oldId = (await docker.getImage(REF).inspect()).Id;
    await buildTinyImage(REF, randomBytes(1024 * 1024), FIXTURE_IMAGES.redis);
    await pushImage(REF);
    await docker.getImage(oldId).tag({ repo: REF.slice(0, REF.lastIndexOf(":")), tag: "7" });
    const before = await docker.getContainer("dlt-pull-redis").inspect();
    expect(before.Image).toBe(oldId);

    // Only redis: --pull always pulls every enabled image, and the fixtures live in no registry.
    const onlyRedis = testConfig("pull", BASE, {
      redis: { image: REF },
      registry: { enabled: false },
      postgres: { enabled: false },
      minio: { enabled: false },
      qdrant: { enabled: false },
    });
    const result = await up({ config: onlyRedis, pull: "always" });
    expect(result.ok).toBe(true);
    const recreated = result.plan.items.filter((i) => i.action === "recreate");
    expect(recreated.map((i) => [i.container, i.reason])).toEqual([["dlt-pull-redis", `a newer ${REF} was pulled`]]);
    const after = await docker.getContainer("dlt-pull-redis").inspect();
    expect(after.Image).not.toBe(oldId);
  });
});
