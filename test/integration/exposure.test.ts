/**
 * Exposure and secrets through the library, on the real engine (issue 8 §4, §5):
 * - `doctor` warns when a service is reachable beyond loopback with the seed's default password,
 *   and when the bucket is writable anonymously while MinIO is; on loopback it says all is well;
 * - a library caller's events and errors carry no secret (a conflict with a hand-made Redis whose
 *   command line holds its password).
 * The address "beyond loopback" is this machine's docker0 bridge address: not loopback, but not
 * the network either, so the default passwords are never offered to the network.
 */
import { networkInterfaces } from "node:os";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ConflictError, doctor, RecordingSink, up } from "../../src/index.js";
import { FIXTURE_IMAGES } from "../support/fixtures.js";
import { cleanup, docker, testConfig } from "../support/stack.js";

const BASE = 23200;
const only = { registry: { enabled: false }, postgres: { enabled: false }, qdrant: { enabled: false } };
const HAND_MADE = "dlt-exposure-hand-redis";
const SECRET = "lib-S3cret-exposure-4c1d";
const HAND_SECRET = "lib-HandMade-exposure-9a7e";

/** An address of this machine that is not loopback; docker0's when there is one. */
function nonLoopbackAddress(): string {
  const all = networkInterfaces();
  const v4 = (name: string) => all[name]?.find((a) => a.family === "IPv4" && !a.internal)?.address;
  const address = v4("docker0") ?? Object.keys(all).map(v4).find(Boolean);
  if (!address) throw new Error("this machine has no IPv4 address besides loopback");
  return address;
}

describe.skipIf(!inject("engine"))("exposure warnings and redacted library errors (real engine)", () => {
  let wide: ReturnType<typeof testConfig>;
  const local = testConfig("exposure", BASE, only);
  beforeAll(async () => {
    wide = testConfig("exposure", BASE, { ...only, bind: nonLoopbackAddress() });
    await cleanup(local);
    await docker
      .getContainer(HAND_MADE)
      .remove({ force: true, v: true })
      .catch(() => undefined);
  });
  afterAll(async () => {
    await cleanup(local);
    await docker
      .getContainer(HAND_MADE)
      .remove({ force: true, v: true })
      .catch(() => undefined);
  });

  it("doctor warns about default passwords and the public bucket beyond loopback, and is quiet on loopback", async () => {
    const result = await up({ config: wide });
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);
    const findings = (await doctor({ config: wide })).findings.filter((f) => f.id.startsWith("exposure"));
    const address = String(wide.bind);
    expect(findings.map((f) => [f.id, f.severity])).toEqual([
      ["exposure.redis", "warning"],
      ["exposure.minio", "warning"],
      ["exposure.minio.anonymous", "warning"],
    ]);
    expect(findings[0]?.what).toBe(
      `dlt-exposure-redis is reachable beyond this machine (${address}:${BASE + 2}) with the seed's default password`,
    );
    expect(findings[1]?.what).toContain("with the seed's default secret key");

    expect((await up({ config: local })).checks.filter((c) => !c.ok)).toEqual([]);
    const quiet = (await doctor({ config: local })).findings.filter((f) => f.id.startsWith("exposure"));
    expect(quiet.map((f) => [f.id, f.severity])).toEqual([["exposure", "ok"]]);
  });

  it("a library caller's events and errors carry no secret", async () => {
    await (
      await docker.createContainer({
        name: HAND_MADE,
        Image: FIXTURE_IMAGES.redis,
        Cmd: ["redis-server", "--requirepass", HAND_SECRET],
      })
    ).start();
    const config = testConfig("exposure", BASE, { ...only, redis: { container: HAND_MADE, password: SECRET } });
    const sink = new RecordingSink();
    const err = await up({ config, sink }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    const text = `${(err as Error).message}\n${(err as Error).stack ?? ""}\n${(err as ConflictError).hint ?? ""}\n${JSON.stringify(sink.events)}`;
    expect(text).toContain(`command is "redis-server --requirepass ********"`);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(HAND_SECRET);
    const dry = await up({ config, dryRun: true, sink });
    const reason = dry.plan.items.find((i) => i.container === HAND_MADE)?.reason ?? "";
    expect(reason).toContain("made outside dify-local and differs from the config");
    expect(reason).not.toContain(SECRET);
    expect(reason).not.toContain(HAND_SECRET);
  });
});
