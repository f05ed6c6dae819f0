/**
 * (i) A registry made by hand with the seed's exact line
 *     docker run -d -p 5050:5000 --restart=always --name local-registry registry:2
 * is adopted, not duplicated. `registry:2` is the locally built registry fixture (Debian's real
 * docker-registry server) tagged under the upstream name, so the line runs unchanged.
 */
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ConflictError, down, RecordingSink, up } from "../../src/index.js";
import { FIXTURE_IMAGES } from "../support/fixtures.js";
import { imageExists, removeImage, tagImage } from "../support/images.js";
import { cleanup, docker, exists, guardSeedNames, testConfig } from "../support/stack.js";

const BASE = 21300;
// Seed names and port for the registry only; the other services get their own names and ports.
const config = testConfig("adopt", BASE, {
  registry: { container: "local-registry", port: 5050, image: "registry:2", volume: "dlt-adopt-registry-data" },
});
let taggedByUs = false;
/** The anonymous volume `docker run` gave the hand-made registry; --recreate keeps it, the test removes it. */
let anonymousVolumes: string[] = [];

describe.skipIf(!inject("engine"))("adoption", () => {
  beforeAll(async () => {
    await guardSeedNames(config);
    await cleanup(config);
    if (!(await imageExists("registry:2"))) {
      await tagImage(FIXTURE_IMAGES.registry, "registry:2");
      taggedByUs = true;
    }
    const run = spawnSync("docker", ["run", "-d", "-p", "5050:5000", "--restart=always", "--name", "local-registry", "registry:2"], {
      encoding: "utf8",
    });
    expect(run.status, run.stderr).toBe(0);
    const made = await docker.getContainer("local-registry").inspect();
    anonymousVolumes = made.Mounts.filter((m) => m.Type === "volume" && m.Name).map((m) => m.Name as string);
  });
  afterAll(async () => {
    await cleanup(config, { volumes: anonymousVolumes });
    if (taggedByUs) await removeImage("registry:2");
  });

  it("(i) adopts the seed's hand-made registry instead of duplicating it, and down leaves it alone", async () => {
    const before = await docker.getContainer("local-registry").inspect();
    const sink = new RecordingSink();
    const result = await up({ config, sink });
    expect(result.ok).toBe(true);
    const item = result.plan.items.find((i) => i.container === "local-registry");
    expect(item?.action).toBe("adopt");
    expect(sink.events.find((e) => e.step === "registry container" && e.status === "ok")?.detail).toMatch(/^adopted/);
    const after = await docker.getContainer("local-registry").inspect();
    expect(after.Id).toBe(before.Id);
    expect(after.State.StartedAt).toBe(before.State.StartedAt);
    const named = await docker.listContainers({ all: true, filters: JSON.stringify({ name: ["^/local-registry$"] }) });
    expect(named).toHaveLength(1);

    // A second run still adopts, changing nothing.
    expect((await up({ config })).changes).toEqual([]);

    // down removes what dify-local made, never the hand-made container.
    const removed = await down({ config });
    expect(removed.leftAlone).toEqual(["local-registry"]);
    expect((await docker.getContainer("local-registry").inspect()).State.Running).toBe(true);
  });

  it("refuses a hand-made container that differs, and --recreate replaces it", async () => {
    const differing = testConfig("adopt", BASE, {
      registry: { container: "local-registry", port: BASE + 20, image: "registry:2", volume: "dlt-adopt-registry-data" },
    });
    const err = await up({ config: differing }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as ConflictError).message).toContain("local-registry: made outside dify-local and differs from the config");
    expect((err as ConflictError).message).toContain("registry.port");
    expect((err as ConflictError).hint).toContain("--recreate");

    const result = await up({ config: differing, recreate: true });
    expect(result.ok).toBe(true);
    const c = await docker.getContainer("local-registry").inspect();
    expect(c.Config.Labels?.["dify-local.managed"]).toBe("true");
    // The hand-made container's own storage is not deleted by the replacement.
    expect(anonymousVolumes.length).toBeGreaterThan(0);
    for (const v of anonymousVolumes) expect(await exists("volume", v)).toBe(true);
  });
});
