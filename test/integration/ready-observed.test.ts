/**
 * `waitReady` given the container as the command observed it moments ago (`up` on a converged
 * stack): the first attempt probes that observation without asking the engine again; any later
 * attempt asks, so a container that stopped since is still noticed.
 */
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { waitReady } from "../../src/engine/index.js";
import { Runtime, type ObservedContainer } from "../../src/runtime/index.js";
import { FIXTURE_IMAGES } from "../support/fixtures.js";
import { cleanup, docker } from "../support/stack.js";

const NAME = "dlt-ready-observed";

describe.skipIf(!inject("engine"))("waitReady with the command's own observation", () => {
  const runtime = new Runtime(docker);
  let observed: ObservedContainer;

  beforeAll(async () => {
    await cleanup({}, { containers: [NAME] });
    const c = await docker.createContainer({ name: NAME, Image: FIXTURE_IMAGES.redis, Entrypoint: ["redis-server"], Cmd: ["--save", ""] });
    await c.start();
    const found = (await runtime.observe([NAME])).get(NAME);
    if (!found?.running) throw new Error(`${NAME} did not start`);
    observed = found;
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await cleanup({}, { containers: [NAME] });
  });

  it("probes the observation at once, without inspecting the container again", async () => {
    const inspect = vi.spyOn(runtime, "inspect");
    const probed: ObservedContainer[] = [];
    const live = await waitReady(
      runtime,
      { title: "redis", probe: async (c) => void probed.push(c) },
      observed.id,
      10,
      undefined,
      observed,
    );
    expect(live).toBe(observed);
    expect(probed).toEqual([observed]);
    expect(inspect).not.toHaveBeenCalled();
    inspect.mockRestore();
  });

  it("asks the engine from the second attempt: a container stopped since the observation fails the wait", async () => {
    await docker.getContainer(observed.id).stop({ t: 0 });
    let attempts = 0;
    const failing = {
      title: "redis",
      probe: async () => {
        attempts++;
        throw new Error("connection refused");
      },
    };
    await expect(waitReady(runtime, failing, observed.id, 10, undefined, observed)).rejects.toThrow(
      /redis: container dlt-ready-observed is exited/,
    );
    // The stale observation got one probe; the engine's answer ended the wait.
    expect(attempts).toBe(1);
  });
});
