/**
 * `dify-local snapshot` through the built CLI: JSON results, exit codes, and a restore that needs
 * --yes off a terminal. Only Redis and Qdrant run (own names and ports); the library-level
 * round trip over every store is test/integration/snapshot.test.ts.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { withRedis } from "../support/clients.js";
import { runCli, jsonLines, resultLine } from "../support/cli.js";
import { cleanup, testConfig } from "../support/stack.js";

const BASE = 31100;
const config = testConfig("snap-cli", BASE, { registry: { enabled: false }, postgres: { enabled: false }, minio: { enabled: false } });
let dir: string;
let env: NodeJS.ProcessEnv;

const cli = (args: string[]) => runCli(args, dir, env);
const errorOf = (stdout: string) => jsonLines(stdout).find((l) => l.type === "error") ?? {};
const redisKey = () => withRedis(BASE + 2, (r) => r.get("cli:k"));

describe.skipIf(!inject("engine"))("dify-local snapshot, through the CLI", () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "dlt-e2e-snap-"));
    env = { DIFY_LOCAL_DATA_DIR: join(dir, "data"), DIFY_LOCAL_CONFIG_DIR: join(dir, "config"), DIFY_LOCAL_STATE_DIR: join(dir, "state") };
    await writeFile(join(dir, "dify-local.yaml"), stringify(config));
    await cleanup(config);
    const run = await cli(["up"]);
    expect(run.code, run.stderr).toBe(0);
    await withRedis(BASE + 2, (r) => r.set("cli:k", "saved"));
  });
  afterAll(async () => {
    await cleanup(config);
    await rm(dir, { recursive: true, force: true });
  });

  it("create and ls: one JSON result each; the snapshot is listed as intact", async () => {
    const created = await cli(["snapshot", "create", "s1", "--json"]);
    expect(created.code, created.stderr).toBe(0);
    expect(resultLine(created.stdout)).toMatchObject({ name: "s1", folder: join(dir, "data", "snapshots", "s1") });
    expect((resultLine(created.stdout).parts as Array<{ service: string }>).map((p) => p.service)).toEqual(["redis", "qdrant"]);
    const listed = await cli(["snapshot", "ls", "--json"]);
    expect(listed.code).toBe(0);
    expect(resultLine(listed.stdout).snapshots).toEqual([
      expect.objectContaining({ name: "s1", integrity: "ok", services: ["redis", "qdrant"] }),
    ]);
    expect((await cli(["snapshot", "ls"])).stdout).toMatch(/^s1\s.*redis,qdrant.*\sok$/m);
  });

  it("restore off a terminal needs --yes (exit 2, lists what it would replace, changes nothing); with --yes it restores", async () => {
    await withRedis(BASE + 2, (r) => r.set("cli:k", "changed"));
    const refused = await cli(["snapshot", "restore", "s1"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/replaces every key in dlt-snap-cli-redis; every collection in dlt-snap-cli-qdrant; add --yes/);
    expect(await redisKey()).toBe("changed");
    const restored = await cli(["snapshot", "restore", "s1", "--yes", "--no-backup", "--json"]);
    expect(restored.code, restored.stdout + restored.stderr).toBe(0);
    expect(resultLine(restored.stdout)).toMatchObject({ name: "s1", ok: true });
    // --no-backup: no automatic snapshot was taken.
    expect(resultLine(restored.stdout).backup).toBeUndefined();
    expect((resultLine((await cli(["snapshot", "ls", "--json"])).stdout).snapshots as unknown[]).length).toBe(1);
    expect(await redisKey()).toBe("saved");
  });

  it("restore onto a stack that is gone (down --purge): up makes it first, then the data goes in", async () => {
    await withRedis(BASE + 2, (r) => r.set("cli:k", "in s2"));
    expect((await cli(["snapshot", "create", "s2"])).code).toBe(0);
    const purged = await cli(["down", "--purge", "--yes"]);
    expect(purged.code, purged.stderr).toBe(0);
    const restored = await cli(["snapshot", "restore", "s2", "--yes", "--no-backup"]);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toContain("restored snapshot s2; verify passed");
    expect(await redisKey()).toBe("in s2");
    expect((await cli(["snapshot", "rm", "s2"])).code).toBe(0);
  });

  it("a damaged snapshot: verify exits 1 naming the file, restore exits 1 before any change", async () => {
    const file = join(dir, "data", "snapshots", "s1", "redis", "dump.rdb");
    const original = await readFile(file);
    await writeFile(file, Buffer.concat([original.subarray(0, -1), Buffer.from([original.at(-1)! ^ 1])]));
    const verified = await cli(["snapshot", "verify", "s1", "--json"]);
    expect(verified.code).toBe(1);
    expect(resultLine(verified.stdout)).toMatchObject({ ok: false, problems: [{ file: "redis/dump.rdb" }] });
    await withRedis(BASE + 2, (r) => r.set("cli:k", "kept"));
    const refused = await cli(["snapshot", "restore", "s1", "--yes", "--json"]);
    expect(refused.code).toBe(1);
    expect(errorOf(refused.stdout)).toMatchObject({
      error: "OperationError",
      message: expect.stringContaining("redis/dump.rdb") as unknown,
    });
    expect(await redisKey()).toBe("kept");
    await writeFile(file, original);
    expect((await cli(["snapshot", "verify", "s1"])).code).toBe(0);
  });

  it("bad names are exit 2 naming NAME; rm deletes", async () => {
    const missing = await cli(["snapshot", "restore", "nope", "--yes", "--json"]);
    expect(missing.code).toBe(2);
    expect(errorOf(missing.stdout)).toMatchObject({ error: "UserError", key: "NAME" });
    expect((await cli(["snapshot", "create", "../out"])).code).toBe(2);
    const removed = await cli(["snapshot", "rm", "s1", "--json"]);
    expect(removed.code).toBe(0);
    expect(resultLine((await cli(["snapshot", "ls", "--json"])).stdout).snapshots).toEqual([]);
  });
});
