/**
 * The README's safety claims through the built CLI, as a user meets them: exit codes and what is
 * printed. Only Redis and MinIO run (own names and ports); Redis's volume is made by hand first.
 * The library-level versions, with the other claims, are in test/integration/safety.test.ts.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { runCli } from "../support/cli.js";
import { cleanup, docker, exists, namesOf, testConfig } from "../support/stack.js";

const BASE = 22200;
const config = testConfig("safety-cli", BASE, { registry: { enabled: false }, postgres: { enabled: false }, qdrant: { enabled: false } });
const { volumes } = namesOf(config);
const HAND_VOLUME = config.redis!.volume!;
const MINIO = config.minio!.container!;
const REDIS = config.redis!.container!;
let dir: string;

const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => runCli(args, dir, env);

describe.skipIf(!inject("engine"))("the README's safety claims, through the CLI", () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "dlt-e2e-safety-"));
    await writeFile(join(dir, "dify-local.yaml"), stringify(config));
    await cleanup(config);
    // Made by hand under the config's volume name, without dify-local's label, before `up` uses it.
    await docker.createVolume({ Name: HAND_VOLUME });
    const run = await cli(["up"]);
    expect(run.code, run.stderr).toBe(0);
  });
  afterAll(async () => {
    await cleanup(config);
    await rm(dir, { recursive: true, force: true });
  });

  it("verify exits 1 on minio.credentials when the config's MinIO password differs from the running container's", async () => {
    expect((await cli(["verify"])).code).toBe(0);
    await writeFile(
      join(dir, "drifted.yaml"),
      stringify(
        testConfig("safety-cli", BASE, {
          registry: { enabled: false },
          postgres: { enabled: false },
          qdrant: { enabled: false },
          minio: { rootPassword: "not-the-live-one" },
        }),
      ),
    );

    const run = await cli(["verify", "--config", "drifted.yaml"]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      "✗ MinIO's root credentials in the container equal the config (values.yaml must use exactly these): container's MINIO_ROOT_PASSWORD differs from minio.rootPassword",
    );
    // The fix names this config's container, not the seed's dev-minio.
    expect(run.stdout).toContain(`fix: run \`dify-local up\` to recreate ${MINIO} with the configured credentials`);
    const json = await cli(["verify", "--json", "--config", "drifted.yaml"]);
    expect(json.code).toBe(1);
    const result = JSON.parse(json.stdout) as { ok: boolean; checks: Array<{ id: string; ok: boolean }> };
    expect(result.ok).toBe(false);
    expect(result.checks.filter((c) => !c.ok).map((c) => c.id)).toEqual(["minio.credentials"]);
  });

  it("doctor with DOCKER_HOST at a dead socket: exit 1, the engine as the first finding, no error thrown", async () => {
    const dead = `unix:///tmp/dlt-e2e-safety-${process.pid}-no-engine.sock`;
    const plain = await cli(["doctor"], { DOCKER_HOST: dead });
    expect(plain.code).toBe(1);
    expect(plain.stdout.split("\n")[0]).toBe(`✗ no Docker engine reachable at ${dead}`);
    // A diagnosis, not a failure of the command: nothing on stderr says "error:".
    expect(plain.stderr).not.toContain("error:");
    const json = await cli(["doctor", "--json"], { DOCKER_HOST: dead });
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout) as { type: string; ok: boolean; findings: Array<{ id: string; severity: string }> };
    expect(report).toMatchObject({ type: "result", ok: false });
    expect(report.findings[0]).toMatchObject({ id: "prereq.engine", severity: "error" });
  });

  it("storage cp, ls and get round-trip a key with +, %, spaces and unicode", async () => {
    const key = "a+b/c%20d e/ü-名.txt";
    await writeFile(join(dir, "odd.txt"), "odd key, same bytes\n");
    const cp = await cli(["storage", "cp", "odd.txt", key]);
    expect(cp.code, cp.stderr).toBe(0);
    expect(cp.stdout).toBe(`uploaded odd.txt to dify/${key} (20 bytes)\n`);
    const ls = await cli(["storage", "ls", "--json", "a+b/"]);
    expect(ls.code, ls.stderr).toBe(0);
    // One JSON object per line, as many lines as objects.
    const lines = ls.stdout
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as { type: string; bucket: string; key: string; size: number });
    expect(lines).toEqual([expect.objectContaining({ type: "object", bucket: "dify", key, size: 20 })]);
    const get = await cli(["storage", "get", key]);
    expect(get.code, get.stderr).toBe(0);
    expect(get.stdout).toBe("odd key, same bytes\n");
  });

  it("down --purge --yes deletes dify-local's volumes, keeps the hand-made one, and says so", async () => {
    const run = await cli(["down", "--purge", "--yes"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`kept volumes made outside dify-local: ${HAND_VOLUME}`);
    expect(run.stderr).toMatch(new RegExp(`^skip volume ${HAND_VOLUME}: made outside dify-local; kept`, "m"));
    for (const c of [MINIO, REDIS]) expect(await exists("container", c)).toBe(false);
    for (const v of volumes) expect(await exists("volume", v)).toBe(v === HAND_VOLUME);
  });
});
