/**
 * Issue 8 §3: one `up` or `down` at a time per engine and config, on the real engine, with the
 * CLI as separate processes (from the sources, through tsx):
 * - two `up` started together: one waits for the other ("waiting for another dify-local up, pid N"),
 *   so there is one container per service, one init (each "created database" once in all), and a
 *   green verify; without the lock the second `up` fails creating a container the first made;
 * - `--no-wait` stops at once with exit 4 naming the holder while another `up` holds the lock
 *   (`up` and `down` alike);
 * - a lock left by a process that is gone (SIGKILL) is taken over, and said so;
 * - no lock file is left behind by any of them.
 */
import { spawnSync } from "node:child_process";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Stack, verify } from "../../src/index.js";
import { lockDir } from "../../src/stack/index.js";
import { CliChild, type JsonLine } from "../support/cli-child.js";
import { cleanup, docker, namesOf, testConfig } from "../support/stack.js";

const BASE = 23400;
const config = testConfig("lock", BASE);
const { containers } = namesOf(config);
let dir: string;
let configFile: string;
let env: NodeJS.ProcessEnv;
const children: CliChild[] = [];

function cli(args: string[]): CliChild {
  const child = new CliChild([...args, "--config", configFile], env);
  children.push(child);
  return child;
}

function eventsOf(lines: readonly JsonLine[], step: string, status: string): JsonLine[] {
  return lines.filter((l) => l.type === "event" && l.step === step && l.status === status);
}

describe.skipIf(!inject("engine"))("one up or down at a time per engine and config (real engine, CLI processes)", () => {
  beforeAll(async () => {
    await cleanup(config);
    dir = await mkdtemp(join(tmpdir(), "dlt-lock-"));
    configFile = join(dir, "dify-local.yaml");
    await writeFile(configFile, stringify(config));
    // Lock files in a directory of the test's own, so it can see what is left behind.
    env = { XDG_RUNTIME_DIR: join(dir, "run") };
  });
  afterAll(async () => {
    await Promise.all(children.map((c) => c.stop()));
    await cleanup(config);
    await rm(dir, { recursive: true, force: true });
  });

  it("two up at once: one waits for the other; one container per service, one init, verify green", async () => {
    const a = cli(["up"]);
    const b = cli(["up"]);
    const [ea, eb] = await Promise.all([a.exited(), b.exited()]);
    expect([ea.code, eb.code], a.stderr + b.stderr).toEqual([0, 0]);
    const lines = [...ea.lines, ...eb.lines];

    // One of them waited, naming the other.
    const waits = eventsOf(lines, "lock", "start");
    expect(waits).toHaveLength(1);
    const waiter = eventsOf(ea.lines, "lock", "start").length ? { self: a, other: b } : { self: b, other: a };
    expect(waits[0]?.detail).toBe(`waiting for another dify-local up, pid ${waiter.other.pid}`);

    // Each container made once; each database created once, by one init.
    for (const svc of ["registry", "postgres", "redis", "minio", "qdrant"]) {
      expect(
        eventsOf(lines, `${svc} container`, "ok").filter((e) => e.detail === "created"),
        svc,
      ).toHaveLength(1);
    }
    const created = eventsOf(lines, "postgres init", "ok").flatMap((e) =>
      String(e.detail)
        .split("; ")
        .filter((d) => d.startsWith("created database")),
    );
    expect(created.sort()).toEqual([
      "created database audit",
      "created database dify",
      "created database enterprise",
      "created database plugin_daemon",
    ]);
    expect(eventsOf(lines, "minio init", "ok").filter((e) => String(e.detail).includes("created bucket"))).toHaveLength(1);
    // The one that waited found everything made: it changed nothing.
    expect(waiter.self.outcome()).toMatchObject({ type: "result", ok: true, changes: [] });

    const ours = await docker.listContainers({ all: true, filters: JSON.stringify({ name: ["dlt-lock-"] }) });
    expect(ours.map((c) => c.Names[0]?.slice(1)).sort()).toEqual([...containers].sort());
    expect((await verify({ config })).ok).toBe(true);
    expect(await readdir(lockDir(env))).toEqual([]);
  });

  it("--no-wait stops at once with exit 4, naming the pid and command that hold the lock", async () => {
    const holder = cli(["up"]);
    // Past the lock (the port preflight comes right after it): pause it there, holding the lock.
    await holder.event("preflight ports", "start");
    holder.child.kill("SIGSTOP");
    try {
      for (const command of ["up", "down"]) {
        const other = cli([command, "--no-wait"]);
        const end = await other.exited(60_000);
        expect(end.code, `${command}: ${end.stderr}`).toBe(4);
        expect(other.outcome()).toMatchObject({
          type: "error",
          exitCode: 4,
          error: "ConflictError",
          message: expect.stringContaining(`another dify-local up is running on this engine and config (pid ${holder.pid},`) as unknown,
        });
        // It changed nothing: it never got past the lock.
        expect(end.lines.filter((l) => l.type === "event")).toEqual([]);
      }
    } finally {
      holder.child.kill("SIGCONT");
    }
    expect((await holder.exited()).code).toBe(0);
    expect(await readdir(lockDir(env))).toEqual([]);
  });

  it("a lock left by a process that is gone is taken over, with a warning naming its pid", async () => {
    const lockPath = await (await Stack.open({ config, env: { ...process.env, ...env } })).lockPath();
    const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
    const pid = Number(dead.stdout);
    const stale = { pid, command: "up", startedAt: new Date().toISOString(), hostname: hostname(), engine: "?", token: "killed" };
    await writeFile(lockPath, JSON.stringify(stale));

    const next = cli(["up", "--no-wait"]);
    const end = await next.exited();
    expect(end.code, end.stderr).toBe(0);
    expect(eventsOf(end.lines, "lock", "warn")).toEqual([
      {
        type: "event",
        step: "lock",
        status: "warn",
        detail: `took over the lock of dify-local up, pid ${pid}: that process is gone without releasing it (killed?)`,
      },
    ]);
    expect(next.outcome()).toMatchObject({ type: "result", ok: true });
    expect(await readdir(lockDir(env))).toEqual([]);
  });
});
