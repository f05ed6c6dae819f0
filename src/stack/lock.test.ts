import { spawnSync } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RecordingSink } from "../engine/index.js";
import { ConflictError, InterruptedError } from "../errors.js";
import { acquireLock, lockDir, lockPath, type LockHolder, type LockRequest } from "./lock.js";

const ENGINE = "unix:///var/run/docker.sock";
const NAMES = ["dev-postgres", "dev-redis"];
let runtimeDir: string;
let env: NodeJS.ProcessEnv;

function request(over: Partial<LockRequest> = {}): LockRequest {
  return { engine: ENGINE, names: NAMES, command: "up", wait: true, sink: new RecordingSink(), env, ...over };
}

/** A pid that belonged to a process that has ended. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(child.stdout);
}

async function writeHolder(path: string, holder: Partial<LockHolder>): Promise<void> {
  const full: LockHolder = {
    pid: 1,
    command: "up",
    startedAt: "2020-01-01T00:00:00.000Z",
    hostname: hostname(),
    engine: ENGINE,
    token: "theirs",
    ...holder,
  };
  await writeFile(path, JSON.stringify(full));
}

beforeEach(async () => {
  runtimeDir = await mkdtemp(join(tmpdir(), "dlt-lock-"));
  env = { XDG_RUNTIME_DIR: runtimeDir };
});
afterEach(async () => {
  await rm(runtimeDir, { recursive: true, force: true });
});

describe("the stack lock", () => {
  it("is one file per engine and config, under $XDG_RUNTIME_DIR/dify-local (0700), whatever the order of the names", async () => {
    const path = lockPath(env, ENGINE, NAMES);
    expect(path.startsWith(join(runtimeDir, "dify-local/"))).toBe(true);
    expect(lockPath(env, ENGINE, [...NAMES].reverse())).toBe(path);
    expect(lockPath(env, "tcp://other:2375", NAMES)).not.toBe(path);
    expect(lockPath(env, ENGINE, ["dev-postgres", "other-redis"])).not.toBe(path);
    expect(lockDir({})).toMatch(/dify-local-/);

    const lock = await acquireLock(request());
    expect(lock.path).toBe(path);
    expect(JSON.parse(await readFile(path, "utf8"))).toMatchObject({ pid: process.pid, command: "up", engine: ENGINE });
    expect((await stat(lockDir(env))).mode & 0o777).toBe(0o700);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    await lock.release();
    // Nothing is left behind: no lock, no temporary file.
    expect(await readdir(lockDir(env))).toEqual([]);
  });

  it("makes a second taker wait, naming the holder, until the first releases it", async () => {
    const first = await acquireLock(request());
    const sink = new RecordingSink();
    let second: Awaited<ReturnType<typeof acquireLock>> | undefined;
    const waiting = acquireLock(request({ command: "down", sink })).then((l) => (second = l));
    await expect.poll(() => sink.events.length, { timeout: 5000 }).toBeGreaterThan(0);
    expect(sink.events[0]).toEqual({ step: "lock", status: "start", detail: `waiting for another dify-local up, pid ${process.pid}` });
    expect(second).toBeUndefined();
    await first.release();
    await waiting;
    expect(second).toBeDefined();
    expect(sink.events.at(-1)).toMatchObject({ step: "lock", status: "ok", detail: expect.stringMatching(/^acquired after/) });
    expect(JSON.parse(await readFile(first.path, "utf8"))).toMatchObject({ command: "down" });
    await second?.release();
  });

  it("with wait: false stops at once with a ConflictError naming the holder's pid and command", async () => {
    const path = lockPath(env, ENGINE, NAMES);
    await acquireLock(request()).then((l) => l.release()); // makes the directory
    // A live process that is not us: our parent.
    await writeHolder(path, { pid: process.ppid, command: "down" });
    const err = await acquireLock(request({ wait: false })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as ConflictError).exitCode).toBe(4);
    expect((err as Error).message).toContain(`another dify-local down is running on this engine and config (pid ${process.ppid}`);
    expect((err as ConflictError).hint).toContain(path);
    // The holder's lock is untouched.
    expect(JSON.parse(await readFile(path, "utf8"))).toMatchObject({ pid: process.ppid, token: "theirs" });
  });

  it("takes over a lock whose process is gone, and says so", async () => {
    const path = lockPath(env, ENGINE, NAMES);
    await acquireLock(request()).then((l) => l.release());
    const pid = deadPid();
    await writeHolder(path, { pid });
    const sink = new RecordingSink();
    const lock = await acquireLock(request({ sink, wait: false }));
    expect(sink.events).toEqual([
      {
        step: "lock",
        status: "warn",
        detail: `took over the lock of dify-local up, pid ${pid}: that process is gone without releasing it (killed?)`,
      },
    ]);
    expect(JSON.parse(await readFile(path, "utf8"))).toMatchObject({ pid: process.pid });
    await lock.release();
    expect(await readdir(lockDir(env))).toEqual([]);
  });

  it("treats our own pid in a lock this process does not hold as stale (a pid reused after a reboot)", async () => {
    const path = lockPath(env, ENGINE, NAMES);
    await acquireLock(request()).then((l) => l.release());
    await writeHolder(path, { pid: process.pid, token: "an earlier boot" });
    const lock = await acquireLock(request({ wait: false }));
    await lock.release();
  });

  it("never removes a lock that is no longer its own", async () => {
    const lock = await acquireLock(request());
    await writeHolder(lock.path, { pid: process.ppid, token: "someone else's" });
    await lock.release();
    expect(JSON.parse(await readFile(lock.path, "utf8"))).toMatchObject({ token: "someone else's" });
  });

  it("stops waiting when the signal is aborted, with the signal's reason", async () => {
    const first = await acquireLock(request());
    const controller = new AbortController();
    const sink = new RecordingSink();
    const waiting = acquireLock(request({ sink, signal: controller.signal })).catch((e: unknown) => e);
    await expect.poll(() => sink.events.length, { timeout: 5000 }).toBeGreaterThan(0);
    controller.abort(new InterruptedError("interrupted by SIGINT", { signal: "SIGINT" }));
    const err = await waiting;
    expect(err).toBeInstanceOf(InterruptedError);
    expect((err as InterruptedError).exitCode).toBe(130);
    await first.release();
  });
});
