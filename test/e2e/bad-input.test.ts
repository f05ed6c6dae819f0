/**
 * Bad input through the built CLI (`node bin/dify-local.js`), as a user meets it: exit code 2, the
 * message on stderr naming the key with file:line or the flag (never a credential's value), with
 * `--json` one `{"type":"error","exitCode":2,"key":...}` line on stdout, and the engine's
 * containers, volumes and networks as they were (compared before and after each case). The library
 * table is test/integration/bad-input.test.ts.
 *
 * Run alone: flock /tmp/dify-local-engine.lock npm run test:e2e -- test/e2e/bad-input.test.ts
 */
import { execFileSync, spawn } from "node:child_process";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { BIN, type CliRun } from "../support/cli.js";
import { engineState, overBase, removeCreatedSince, type EngineState } from "../support/engine-state.js";
import { cleanup, testConfig } from "../support/stack.js";

const BASE = 23050;
const base = testConfig("badcli", BASE);
const SECRET = "--requirepass-not-a-secret-to-show";

let dir: string;
let before: EngineState;

/** The CLI with a bound: a run that hangs (a FIFO read as a file) is killed and shows as code null. */
function cli(args: readonly string[], options: { uid?: number; gid?: number } = {}): Promise<CliRun> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, stdio: ["ignore", "pipe", "pipe"], ...options });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

/** Runs the CLI, which must refuse: exit 2, and the engine exactly as before the run. */
async function refused(args: readonly string[], options: { uid?: number; gid?: number } = {}): Promise<CliRun> {
  const start = await engineState();
  const run = await cli(args, options);
  expect(run.code, `${args.join(" ")}\n${run.stderr}`).toBe(2);
  expect(await engineState()).toEqual(start);
  return run;
}

/** The one `--json` error line. */
function jsonError(run: CliRun): { type: string; exitCode: number; key?: string; message: string } {
  const lines = run.stdout.trim().split("\n");
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0] ?? "") as { type: string; exitCode: number; key?: string; message: string };
}

async function file(name: string, content: string | Buffer): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

describe.skipIf(!inject("engine"))(
  "bad input through the CLI: exit 2, the key or flag on stderr and in --json, the engine unchanged",
  () => {
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "dlt-badcli-"));
      await cleanup(base);
      before = await engineState();
    });
    afterAll(async () => {
      if (before) await removeCreatedSince(before);
      await cleanup(base);
      await rm(dir, { recursive: true, force: true });
    });

    // [label, snippet over the base, key, line of the snippet]
    const YAML: Array<[string, string, string, number]> = [
      ["an upper-case image (Redis:7)", "redis:\n  image: Redis:7\n", "redis.image", 2],
      ["a bucket that is an IP address", "minio:\n  bucket: 192.168.1.1\n", "minio.bucket", 2],
      ["a cluster name longer than kind allows", `cluster:\n  name: dify-${"k".repeat(46)}\n`, "cluster.name", 2],
      ["a huge timeout", "readyTimeout: 1e12\n", "readyTimeout", 1],
      ["a duplicate key", `redis:\n  port: ${BASE + 2}\n  port: ${BASE + 12}\n`, "redis.port", 3],
      ["a password from an unset environment variable", "postgres:\n  password: ${DLT_BADCLI_UNSET}\n", "postgres.password", 2],
    ];
    it.each(YAML)("--config with %s: stderr names file:line and the key, --json carries the key", async (_label, snippet, key, n) => {
      const { text, line } = overBase(snippet, base);
      const path = await file(`${key}.yaml`, text);
      const plain = await refused(["up", "--config", path]);
      expect(plain.stderr).toMatch(
        new RegExp(`^error: (invalid configuration:\\n  )?${path}:${line(n)}(:\\d+)?: (invalid YAML at )?${key}: `),
      );
      expect(plain.stdout).toBe("");
      const json = jsonError(await refused(["up", "--config", path, "--json"]));
      expect(json).toMatchObject({ type: "error", exitCode: 2, key });
      expect(json.message).toContain(`${path}:${line(n)}`);
    });

    it("--config with a Redis password that starts with --: named, never shown, in text or JSON", async () => {
      const { text } = overBase(`redis:\n  password: "${SECRET}"\n`, base);
      const path = await file("password.yaml", text);
      for (const args of [
        ["up", "--config", path],
        ["up", "--config", path, "--json"],
        ["info", "--config", path, "--show-secrets"],
      ]) {
        const run = await refused(args);
        expect(`${run.stdout}${run.stderr}`).toContain("redis.password");
        expect(`${run.stdout}${run.stderr}`).not.toContain(SECRET);
      }
    });

    it("--config with an alias bomb: exit 2 at once, the line named", async () => {
      const rows = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
      for (const [name, prev] of [
        ["b", "a"],
        ["c", "b"],
        ["d", "c"],
        ["e", "d"],
        ["f", "e"],
        ["g", "f"],
        ["h", "g"],
        ["i", "h"],
      ]) {
        rows.push(`${name}: &${name} [${Array<string>(10).fill(`*${prev}`).join(", ")}]`);
      }
      const path = await file("bomb.yaml", `${rows.join("\n")}\n`);
      const run = await refused(["up", "--config", path, "--json"]);
      expect(jsonError(run)).toMatchObject({ type: "error", exitCode: 2, key: "c[0]" });
      expect(jsonError(run).message).toMatch(new RegExp(`^${path}:3:\\d+: invalid YAML at c\\[0\\]: the aliases here expand`));
    });

    it("--config on a FIFO, /dev/zero, a directory, a 2 MB file, invalid UTF-8: exit 2 naming --config, no hang", async () => {
      const fifo = join(dir, "config.fifo");
      execFileSync("mkfifo", [fifo]);
      const big = await file("big.yaml", `${"# padding\n".repeat(200_000)}bind: 127.0.0.1\n`);
      const latin1 = await file(
        "latin1.yaml",
        Buffer.concat([Buffer.from("bind: 127.0.0.1\n# caf"), Buffer.from([0xe9]), Buffer.from("\n")]),
      );
      const cases: Array<[string, string]> = [
        [fifo, `${fifo} is a FIFO (named pipe), not a regular file`],
        ["/dev/zero", "/dev/zero is a character device, not a regular file"],
        [dir, `${dir} is a directory, not a config file`],
        [big, `${big} is too large for a config file (2000016 bytes; at most 1048576 bytes are read)`],
        [latin1, `${latin1}:2:6: not valid UTF-8 (byte offset 21)`],
      ];
      for (const [path, message] of cases) {
        const run = await refused(["status", "--config", path, "--json"]);
        expect(jsonError(run)).toMatchObject({ type: "error", exitCode: 2, key: "--config" });
        expect(jsonError(run).message).toContain(message);
      }
    });

    it("an empty --config is refused, not ignored (it used to run up with the defaults)", async () => {
      const run = await refused(["up", "--config", ""]);
      expect(run.stderr).toBe("error: --config was given an empty file name\nhint: pass the path of a YAML file\n");
    });

    it("a config file without read permission: exit 2, permission denied", async () => {
      const path = await file("secret.yaml", "bind: 127.0.0.1\n");
      await chmod(path, 0o000);
      // Root reads any file whatever its mode, so as root the CLI runs as nobody (65534) here: the
      // denial is then the kernel's, as for a user. The directory must be reachable by nobody.
      const asRoot = process.getuid?.() === 0;
      if (asRoot) await chmod(dir, 0o755);
      const run = await refused(["up", "--config", path, "--json"], asRoot ? { uid: 65534, gid: 65534 } : {});
      expect(jsonError(run)).toMatchObject({ type: "error", exitCode: 2, key: "--config" });
      expect(jsonError(run).message).toBe(`cannot read config file ${path}: permission denied`);
    });

    const FLAGS: Array<[string, string[], string, string]> = [
      ["--pull with a bad value", ["up", "--pull", "sometimes"], "--pull", '--pull must be missing or always (got "sometimes")'],
      ["--chart bad", ["values", "--chart", "4.0"], "--chart", '--chart must be 3.7 or 3.9 (got "4.0")'],
      ["--format bad", ["values", "--format", "xml"], "--format", '--format must be yaml or env (got "xml")'],
      ["--pull without its value", ["up", "--pull"], "--pull", "option '--pull <mode>' argument missing"],
      ["an unknown flag", ["up", "--frobnicate"], "--frobnicate", "unknown option '--frobnicate'"],
    ];
    it.each(FLAGS)("%s: stderr names the flag; --json carries it as key", async (_label, args, key, message) => {
      const config = await file("good.yaml", overBase("", base).text);
      const plain = await refused([...args, "--config", config]);
      expect(plain.stderr).toContain(message);
      const json = jsonError(await refused([...args, "--config", config, "--json"]));
      expect(json).toMatchObject({ type: "error", exitCode: 2, key });
      expect(json.message).toContain(message);
    });

    it("after every case the engine holds exactly what it held before", async () => {
      expect(await engineState()).toEqual(before);
    });
  },
);
