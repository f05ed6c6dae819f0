/**
 * The built CLI as a user runs it: `node bin/dify-local.js ...` in a directory holding a
 * dify-local.yaml that changes nothing but the image references (the seed's names, ports and
 * credentials otherwise). Exit codes, plain output, --json and error messages are asserted.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { cleanup, exists, guardSeedNames, namesOf, seedConfigWithFixtures } from "../support/stack.js";

const BIN = resolve("bin/dify-local.js");
const config = seedConfigWithFixtures();
const { containers, volumes } = namesOf(config);
let dir: string;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => done({ code, stdout, stderr }));
  });
}

describe.skipIf(!inject("engine"))("the dify-local CLI", () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "dlt-e2e-"));
    await writeFile(join(dir, "dify-local.yaml"), stringify(config));
    await guardSeedNames(config);
    await cleanup(config);
  });
  afterAll(async () => {
    await cleanup(config);
    await rm(dir, { recursive: true, force: true });
  });

  it("(g) refuses bad config of many kinds with exit 2, the key path, and nothing created", async () => {
    const cases: Array<[string, string]> = [
      ["bogus: 1\n", "bogus"],
      ["postgres:\n  port: high\n", "postgres.port"],
      ["postgres:\n  port: 99999\n", "postgres.port"],
      ["redis:\n  passwd: x\n", "redis.passwd"],
      ['redis:\n  password: ""\n', "redis.password"],
      ["minio:\n  anonymous: world\n", "minio.anonymous"],
      ["minio:\n  bucket: Not_A_Bucket\n", "minio.bucket"],
      ['qdrant:\n  container: "bad name"\n', "qdrant.container"],
      ["bind: everywhere\n", "bind"],
      ["postgres:\n  databases: [dify, dify]\n", "postgres.databases"],
      ["minio:\n  consolePort: 6379\n", "minio.consolePort"],
      ['registry:\n  image: "has space"\n', "registry.image"],
      ["readyTimeout: -1\n", "readyTimeout"],
      ["cluster:\n  workers: many\n", "cluster.workers"],
    ];
    for (const [yaml, key] of cases) {
      const file = join(dir, "bad.yaml");
      await writeFile(file, yaml);
      const run = await cli(["up", "--config", file]);
      expect(run.code, `${yaml} -> ${run.stderr}`).toBe(2);
      expect(run.stderr).toContain(`${key}:`);
      expect(run.stderr).toMatch(/bad\.yaml:\d+/);
    }
    const syntax = join(dir, "broken.yaml");
    await writeFile(syntax, "postgres:\n  port: [1,\n");
    const run = await cli(["up", "--config", syntax, "--json"]);
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout.trim())).toMatchObject({ type: "error", exitCode: 2 });
    const missing = await cli(["up", "--config", join(dir, "nope.yaml")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("nope.yaml");
    const badFlag = await cli(["up", "--pull", "sometimes"]);
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toContain("--pull");
    const unknownFlag = await cli(["up", "--frobnicate"]);
    expect(unknownFlag.code).toBe(2);
    for (const c of containers) expect(await exists("container", c)).toBe(false);
    for (const v of volumes) expect(await exists("volume", v)).toBe(false);
  });

  // How fast this answers (the 2 seconds) is measured by `npm run bench`.
  it("(h) names the dead DOCKER_HOST with exit code 3", async () => {
    const run = await cli(["status"], { DOCKER_HOST: "unix:///tmp/dify-local-dead.sock" });
    expect(run.code).toBe(3);
    expect(run.stderr).toContain("No Docker engine is reachable at unix:///tmp/dify-local-dead.sock");
    expect(run.stderr).toContain("hint:");
  });

  // The CLI asks the engine (ping, and for up and down its id) while it loads the command; the
  // configuration is still the first thing judged.
  it("(h) a bad config wins over a dead engine: exit 2 naming the key, for every command that connects early", async () => {
    const file = join(dir, "bad-and-dead.yaml");
    await writeFile(file, "readyTimeout: -1\n");
    for (const command of ["up", "down", "status", "verify"]) {
      const run = await cli([command, "--config", file], { DOCKER_HOST: "unix:///tmp/dify-local-dead.sock" });
      expect(run.code, `${command}: ${run.stderr}`).toBe(2);
      expect(run.stderr).toContain("readyTimeout:");
      expect(run.stderr).not.toContain("No Docker engine");
    }
  });

  it("up --dry-run plans five creations and changes nothing", async () => {
    const run = await cli(["up", "--dry-run"]);
    expect(run.code).toBe(0);
    // ACTION, CONTAINER, DATA (the volume it will use), REASON.
    for (const c of containers) expect(run.stdout).toMatch(new RegExp(`create\\s+${c}\\s+volume ${c}-data\\s+does not exist`));
    for (const c of containers) expect(await exists("container", c)).toBe(false);
  });

  it("up brings the seed's stack up with plain progress lines, then a rerun says nothing changed", async () => {
    const first = await cli(["up"]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/^ok {3}postgres container: created$/m);
    expect(first.stderr).toMatch(
      /^ok {3}postgres init: created database dify; created database plugin_daemon; created database enterprise; created database audit$/m,
    );
    expect(first.stdout).toContain("changes");
    // Nothing but step lines on stderr: no stray library warnings.
    for (const line of first.stderr.trim().split("\n")) expect(line).toMatch(/^(ok|skip|fail) /);

    const again = await cli(["up", "--json"]);
    expect(again.code).toBe(0);
    const lines = again.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { type: string; step?: string; status?: string; detail?: string; changes?: string[] });
    expect(
      lines
        .filter((l) => l.type === "event" && l.step?.endsWith(" container") && l.status === "ok")
        .every((l) => l.detail?.startsWith("unchanged")),
    ).toBe(true);
    expect(lines.at(-1)).toMatchObject({ type: "result", ok: true, changes: [] });
  });

  it("status, verify and info report the running stack; secrets only on request", async () => {
    const status = await cli(["status", "--json"]);
    expect(status.code).toBe(0);
    const services = (JSON.parse(status.stdout) as { services: Array<{ service: string; state: string; health: string }> }).services;
    expect(services.map((s) => [s.service, s.state, s.health])).toEqual([
      ["registry", "running", "healthy"],
      ["postgres", "running", "healthy"],
      ["redis", "running", "healthy"],
      ["minio", "running", "healthy"],
      ["qdrant", "running", "healthy"],
    ]);
    const table = await cli(["status"]);
    expect(table.stdout).toMatch(
      /^postgres\s+dev-postgres\s+running\s+postgresql:\/\/postgres@127\.0\.0\.1:55432\s+healthy\s+volume dev-postgres-data$/m,
    );

    const verify = await cli(["verify"]);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toContain("✓ MinIO's root credentials in the container equal the config");

    const info = await cli(["info"]);
    expect(info.stdout).toContain("cluster: postgresql://postgres@host.docker.internal:55432");
    expect(info.stdout).not.toContain("devpassword");
    expect(info.stdout).not.toContain("minioadmin123");
    const secrets = await cli(["info", "--show-secrets"]);
    expect(secrets.stdout).toContain("devpassword");
    expect(secrets.stdout).toContain("minioadmin123");
  });

  it("doctor, storage and registry ls work on the running stack", async () => {
    const doctor = await cli(["doctor", "--json"]);
    expect(doctor.code, doctor.stdout).toBe(0);
    const report = JSON.parse(doctor.stdout) as { ok: boolean; findings: Array<{ id: string; severity: string }> };
    expect(report.ok).toBe(true);
    expect(report.findings.find((f) => f.id === "postgres.databases")?.severity).toBe("ok");

    await writeFile(join(dir, "pkg.difypkg"), "plugin bytes");
    const cp = await cli(["storage", "cp", "pkg.difypkg", "plugin_packages/pkg.difypkg"]);
    expect(cp.code, cp.stderr).toBe(0);
    expect(cp.stdout).toBe("uploaded pkg.difypkg to dify/plugin_packages/pkg.difypkg (12 bytes)\n");
    const ls = await cli(["storage", "ls", "plugin_packages/"]);
    expect(ls.stdout).toMatch(/^LAST MODIFIED\s+SIZE {2}KEY\n\d{4}-\S+\s+12 {2}plugin_packages\/pkg\.difypkg\n$/);
    const get = await cli(["storage", "get", "plugin_packages/pkg.difypkg"]);
    expect(get.stdout).toBe("plugin bytes");
    const missing = await cli(["storage", "cp", "nope.difypkg", "x"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("nope.difypkg");

    const registry = await cli(["registry", "ls", "--json"]);
    expect(registry.code).toBe(0);
    expect(JSON.parse(registry.stdout)).toMatchObject({ type: "result", repositories: [] });
  });

  it("verify fails with exit 1 and a fix when a service is stopped", async () => {
    const { docker } = await import("../support/stack.js");
    await docker.getContainer("dev-redis").stop({ t: 5 });
    const run = await cli(["verify"]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("✗ container dev-redis is running: it is exited");
    expect(run.stdout).toContain("fix: run `dify-local up`");
    const doctor = await cli(["doctor"]);
    expect(doctor.code).toBe(1);
    expect(doctor.stdout).toContain("✗ container dev-redis is exited");
    expect(doctor.stdout).toMatch(/^1 error, \d+ warnings?$/m);
    const fixed = await cli(["up"]);
    expect(fixed.code).toBe(0);
    expect(fixed.stderr).toMatch(/^ok {3}redis container: started/m);
  });

  it("down --purge needs --yes when not interactive, then removes containers and volumes", async () => {
    const refused = await cli(["down", "--purge"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("--yes");
    for (const c of containers) expect(await exists("container", c)).toBe(true);
    const run = await cli(["down", "--purge", "--yes"]);
    expect(run.code).toBe(0);
    for (const c of containers) expect(await exists("container", c)).toBe(false);
    for (const v of volumes) expect(await exists("volume", v)).toBe(false);
  });

  it("on a terminal: live rows with a spinner while working, then ✓ per step", async () => {
    // `script` gives the CLI a real pseudo-terminal (with a size, as a terminal window has).
    const run = await new Promise<Run>((done) => {
      const child = spawn("script", ["-qec", `stty cols 150 rows 60; ${process.execPath} ${BIN} up`, "/dev/null"], {
        cwd: dir,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      child.on("close", (code) => done({ code, stdout, stderr }));
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] (postgres|redis|minio|qdrant|registry) (container|ready)/);
    expect(run.stdout).toContain("✓ postgres container: created");
    expect(run.stdout).toContain("✓ check minio.anonymous");
    // Rows are redrawn in place (cursor moves and line erases), not appended as plain lines.
    expect(run.stdout).toContain("\u001b[2K");
    expect(run.stdout).not.toMatch(/^ok {3}postgres container/m);
    expect((await cli(["down", "--purge", "--yes"])).code).toBe(0);
  });
});
