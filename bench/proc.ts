/**
 * One process, timed as a user waits for it: from spawn to exit, with its peak resident memory.
 * Peak RSS comes from GNU time (`/usr/bin/time -f %M`) when installed; otherwise, for Node
 * processes only, from a preload that writes `process.resourceUsage().maxRSS` at exit.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { performance } from "node:perf_hooks";

const GNU_TIME = "/usr/bin/time";
const HAS_GNU_TIME = existsSync(GNU_TIME);
const RSS_PRELOAD = pathToFileURL(resolve("bench/maxrss.mjs")).href;

export interface Run {
  ms: number;
  /** Peak resident set size in kB; undefined when it could not be measured. */
  rssKb: number | undefined;
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface Command {
  cmd: string;
  args: readonly string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** How peak memory is measured on this machine, for the report. */
export const RSS_METHOD = HAS_GNU_TIME ? "GNU time %M" : "process.resourceUsage().maxRSS at exit (Node processes only)";

let scratch: string | undefined;

async function rssFile(): Promise<string> {
  scratch ??= await mkdtemp(join(tmpdir(), "dlb-rss-"));
  return join(scratch, "rss");
}

/** Removes the scratch directory of the RSS files. */
export async function cleanupProc(): Promise<void> {
  if (scratch) await rm(scratch, { recursive: true, force: true });
}

/** Runs a command once and measures it. */
export async function run(c: Command): Promise<Run> {
  const file = await rssFile();
  await rm(file, { force: true });
  const isNode = c.cmd === process.execPath;
  let cmd = c.cmd;
  let args = [...c.args];
  let env: NodeJS.ProcessEnv = { ...process.env, ...c.env };
  if (HAS_GNU_TIME) {
    args = ["-f", "%M", "-o", file, cmd, ...args];
    cmd = GNU_TIME;
  } else if (isNode) {
    args = ["--import", RSS_PRELOAD, ...args];
    env = { ...env, BENCH_RSS_FILE: file };
  }
  const t0 = performance.now();
  const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((done, fail) => {
    const child = spawn(cmd, args, { cwd: c.cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", fail);
    child.on("close", (code) => done({ code, stdout, stderr }));
  });
  const ms = performance.now() - t0;
  return { ms, rssKb: await readRss(file), ...out };
}

async function readRss(file: string): Promise<number | undefined> {
  try {
    // GNU time writes "Command exited with non-zero status N" before the number when the exit is not 0.
    const last = (await readFile(file, "utf8")).trim().split("\n").at(-1) ?? "";
    const kb = Number.parseInt(last, 10);
    return Number.isFinite(kb) ? kb : undefined;
  } catch {
    return undefined;
  }
}

/** The machine's CPU ticks since boot, summed over its cores (`/proc/stat`); undefined where there is none (macOS). */
async function cpuTicks(): Promise<{ busy: number; total: number } | undefined> {
  try {
    const fields = (await readFile("/proc/stat", "utf8")).split("\n")[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
    const busy = user + nice + system + irq + softirq + steal;
    return Number.isFinite(busy + idle + iowait) ? { busy, total: busy + idle + iowait } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Milliseconds of CPU the whole machine has been busy since boot, summed over its cores (user,
 * nice, system, irq, softirq, steal, in USER_HZ ticks of 10 ms): the difference over a run is the
 * CPU every process spent in it, the engine's and the containers' included. Undefined where there
 * is no /proc/stat (macOS).
 */
export async function machineBusyMs(): Promise<number | undefined> {
  const ticks = await cpuTicks();
  return ticks && ticks.busy * 10;
}

/**
 * Whether the machine is quiet between measurements: before each round the bench waits 250 ms
 * and reads the share of the machine's CPU something else used meanwhile. A compile or a test run
 * beside the bench skews every ratio (one such run made every target of bench:scale look met);
 * a share above a fifth is reported, and the bench then exits 1.
 */
export class QuietCheck {
  readonly warnings: string[] = [];

  async check(when: string): Promise<void> {
    const before = await cpuTicks();
    await new Promise((resolve) => setTimeout(resolve, 250));
    const after = await cpuTicks();
    if (!before || !after || after.total <= before.total) return;
    const share = (after.busy - before.busy) / (after.total - before.total);
    if (share <= 0.2) return;
    const warning = `the machine was busy before ${when}: ${(share * 100).toFixed(0)}% of its CPU in 250 ms while the bench waited; another process ran beside the measurements, whose numbers are not to be trusted`;
    process.stderr.write(`warning: ${warning}\n`);
    this.warnings.push(warning);
  }
}

/** Times an in-process piece of work (a baseline made of several steps). */
export async function timeWork(work: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await work();
  return performance.now() - t0;
}
