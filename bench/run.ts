/**
 * `npm run bench`: what users wait for, measured (never asserted in a test). Whole CLI processes
 * started as an installed CLI starts (`node bin/dify-local.js ...`, after `npm run build`), against
 * baselines measured in the same run: bare `node -e 0`, `docker-compose up -d` / `ps` on an
 * equivalent compose file, the seed's way cold, and PostgreSQL alone. Prints a table (median, min,
 * max, peak RSS), writes JSON and Markdown under bench/results/, and exits 1 when a target of
 * issue 9 is missed.
 *
 * Needs a Docker engine, the fixture images (test/fixtures/images/build.sh) and docker-compose.
 * Uses its own names and ports (23600-23699, see bench/stacks.ts) and removes what it made.
 * BENCH_RUNS (default 5) sets the runs per scenario; BENCH_SKIP_COLD=1 leaves the cold scenarios out.
 */
import { existsSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join, resolve } from "node:path";
import { cleanupProc, machineBusyMs, QuietCheck, RSS_METHOD, run, timeWork, type Command, type Run } from "./proc.js";
import {
  cpuHead,
  conclude,
  cpuRows,
  evaluate,
  markdownReport,
  section,
  summarise,
  terminalReport,
  writeResults,
  type Measured,
  type Summary,
  type Target,
} from "./report.js";
import {
  cleanupAll,
  cleanupCompose,
  cleanupPgAlone,
  cleanupStack,
  composeArgs,
  exec,
  makeWorkspace,
  postgresAloneCold,
  seedWayCold,
  type Workspace,
} from "./stacks.js";
import { FIXTURE_IMAGES } from "../test/support/fixtures.js";
import { docker } from "../test/support/stack.js";

const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 5));
const SKIP_COLD = process.env.BENCH_SKIP_COLD === "1";
const BIN = resolve("bin/dify-local.js");
const NODE = process.execPath;

interface Scenario {
  id: string;
  label: string;
  dl: boolean;
  /** A process to time, with the exit code it must end with (a failing run is not measured). */
  command?: Command & { expect: number; verify?: (r: Run) => string | undefined };
  /** Or in-process work (a baseline of several steps), with what it runs, in words. */
  work?: { describe: string; body: () => Promise<void> };
  /** Runs before each timed run, untimed (cold scenarios remove what the previous run made). */
  prepare?: () => Promise<void>;
}

const cli = (ws: Workspace, args: string[], expect = 0, env: NodeJS.ProcessEnv = {}) => ({
  cmd: NODE,
  args: [BIN, ...args],
  cwd: ws.dir,
  env,
  expect,
});

function warmScenarios(ws: Workspace): Scenario[] {
  const upToDate = (r: Run) => (/nothing changed/.test(r.stdout) ? undefined : `up changed something:\n${r.stdout}`);
  return [
    { id: "node", label: "node -e 0", dl: false, command: { cmd: NODE, args: ["-e", "0"], expect: 0 } },
    { id: "help", label: "dify-local --help", dl: true, command: cli(ws, ["--help"]) },
    { id: "argerr-flag", label: "dify-local status --no-such-flag (exit 2)", dl: true, command: cli(ws, ["status", "--no-such-flag"], 2) },
    { id: "argerr-value", label: "dify-local up --pull sometimes (exit 2)", dl: true, command: cli(ws, ["up", "--pull", "sometimes"], 2) },
    {
      id: "no-engine",
      label: "dify-local status, no engine (exit 3)",
      dl: true,
      command: cli(ws, ["status"], 3, { DOCKER_HOST: "unix:///tmp/dlb-no-engine.sock" }),
    },
    { id: "status", label: "dify-local status", dl: true, command: cli(ws, ["status"]) },
    { id: "verify", label: "dify-local verify", dl: true, command: cli(ws, ["verify"]) },
    {
      id: "up-warm",
      label: "dify-local up --no-cluster (converged)",
      dl: true,
      command: { ...cli(ws, ["up", "--no-cluster"]), verify: upToDate },
    },
    {
      id: "compose-up-warm",
      label: "docker-compose up -d (running)",
      dl: false,
      command: { cmd: "docker-compose", args: composeArgs(ws, "up", "-d"), cwd: ws.dir, expect: 0 },
    },
    {
      id: "compose-ps",
      label: "docker-compose ps",
      dl: false,
      command: { cmd: "docker-compose", args: composeArgs(ws, "ps"), cwd: ws.dir, expect: 0 },
    },
  ];
}

function coldScenarios(ws: Workspace): Scenario[] {
  return [
    {
      id: "up-cold",
      label: "dify-local up --no-cluster (cold)",
      dl: true,
      prepare: cleanupStack,
      command: cli(ws, ["up", "--no-cluster"]),
    },
    {
      id: "seed-cold",
      label: "seed's way (cold): compose up -d, wait, databases, bucket",
      dl: false,
      prepare: () => cleanupCompose(ws),
      work: { describe: "docker-compose up -d + polling + CREATE DATABASE x4 + bucket", body: () => seedWayCold(ws) },
    },
    {
      id: "pg-alone",
      label: "PostgreSQL alone (cold): docker run until SELECT 1 + 4 databases",
      dl: false,
      prepare: cleanupPgAlone,
      work: { describe: "docker run + polling + CREATE DATABASE x4", body: postgresAloneCold },
    },
  ];
}

const TARGETS: Target[] = [
  { what: "--help <= 2x node -e 0", kind: "ratio", scenario: "help", baseline: "node", limit: 2 },
  { what: "argument error (unknown flag) <= 2x node -e 0", kind: "ratio", scenario: "argerr-flag", baseline: "node", limit: 2 },
  { what: "argument error (bad value) <= 2x node -e 0", kind: "ratio", scenario: "argerr-value", baseline: "node", limit: 2 },
  { what: "status <= 3x node -e 0", kind: "ratio", scenario: "status", baseline: "node", limit: 3 },
  { what: "verify <= 3x node -e 0", kind: "ratio", scenario: "verify", baseline: "node", limit: 3 },
  { what: "warm up <= 0.5x docker-compose up -d", kind: "ratio", scenario: "up-warm", baseline: "compose-up-warm", limit: 0.5 },
  { what: "no engine: the answer within 2 s (issue 2)", kind: "ms", scenario: "no-engine", limit: 2000 },
  { what: "peak RSS of every dify-local command <= 100 MB", kind: "rss", limit: 100 },
];

const COLD_TARGETS: Target[] = [
  { what: "cold up <= 0.8x the seed's way", kind: "ratio", scenario: "up-cold", baseline: "seed-cold", limit: 0.8 },
  { what: "cold up <= 1.25x PostgreSQL alone", kind: "ratio", scenario: "up-cold", baseline: "pg-alone", limit: 1.25 },
];

function commandText(s: Scenario): string {
  if (s.work) return s.work.describe;
  const c = s.command;
  if (!c) return "";
  const args = c.args
    .map((a) => (a === BIN ? "bin/dify-local.js" : a))
    .map((a) => (a.includes("/") && a.endsWith(".yml") ? "docker-compose.yml" : a));
  const env = Object.entries(c.env ?? {}).map(([k, v]) => `${k}=${v} `);
  return `${env.join("")}${c.cmd === NODE ? "node" : c.cmd} ${args.join(" ")}`;
}

/** One timed run of a scenario; throws when a process ends with another exit code than expected. */
async function once(s: Scenario): Promise<{ ms: number; rssKb: number | undefined; cpuMs: number | undefined }> {
  await s.prepare?.();
  const busy = await machineBusyMs();
  const cpuMs = async () => {
    const after = await machineBusyMs();
    return busy === undefined || after === undefined ? undefined : after - busy;
  };
  if (s.work) {
    const ms = await timeWork(s.work.body);
    return { ms, rssKb: undefined, cpuMs: await cpuMs() };
  }
  const c = s.command;
  if (!c) throw new Error(`internal: scenario ${s.id} has nothing to run`);
  const r = await run(c);
  const cpu = await cpuMs();
  const problem = r.code !== c.expect ? `exited ${r.code}, expected ${c.expect}` : c.verify?.(r);
  if (problem) throw new Error(`${commandText(s)}: ${problem}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  return { ms: r.ms, rssKb: r.rssKb, cpuMs: cpu };
}

/** Runs every scenario once per round, interleaved (drift on a shared machine hits all alike), after one discarded warm-up round. */
async function measure(scenarios: readonly Scenario[], label: string, quiet: QuietCheck): Promise<Measured[]> {
  const out = scenarios.map((s): Measured => ({
    id: s.id,
    label: s.label,
    command: commandText(s),
    dl: s.dl,
    samples: [],
    rssKb: [],
    cpuMs: [],
  }));
  for (let round = 0; round <= RUNS; round++) {
    process.stderr.write(`${label}: ${round === 0 ? "warm-up round" : `round ${round}/${RUNS}`}\n`);
    if (round > 0) await quiet.check(`${label} round ${round}`);
    for (const [i, s] of scenarios.entries()) {
      const r = await once(s);
      if (round === 0) continue;
      out[i]?.samples.push(r.ms);
      out[i]?.rssKb.push(r.rssKb);
      out[i]?.cpuMs?.push(r.cpuMs);
    }
  }
  return out;
}

/** `--timings` of status, verify and a warm up, once each, for the report. */
async function timingsOf(ws: Workspace): Promise<string> {
  const parts: string[] = [];
  for (const args of [["status"], ["verify"], ["up", "--no-cluster"]]) {
    const r = await run({ cmd: NODE, args: [BIN, ...args, "--timings"], cwd: ws.dir });
    const at = r.stderr.indexOf("timings");
    if (r.code !== 0 || at < 0) return "";
    parts.push(`\`dify-local ${args.join(" ")} --timings\`:\n\n\`\`\`\n${r.stderr.slice(at).trimEnd()}\n\`\`\``);
  }
  return parts.join("\n\n");
}

/**
 * The machine's CPU in the cold runs, against the cold target of issue 9: cold `up` cannot end
 * sooner than PostgreSQL's own start, nor sooner than the CPU its run took spread over every
 * core. Shown beside the targets, never instead of them.
 */
function coldCpu(results: readonly Summary[]): { text: string; markdown: string } | undefined {
  const cores = cpus().length;
  const body = cpuRows(results, ["up-cold", "seed-cold", "pg-alone"], cores, "pg-alone");
  if (body.length === 0) return undefined;
  const head = cpuHead(cores, "PostgreSQL alone");
  const note =
    `Cold runs, CPU of the whole machine (/proc/stat; the CLI, the engine and every container). Work that took C ms of CPU cannot end in less than C / ${cores} ms on ${cores} cores; ` +
    "the floor is that or PostgreSQL's own start, the longer, against PostgreSQL alone (a schedule doing less work could end sooner; the MinIO and Qdrant stand-ins are Node processes, not the real servers).";
  return section("Machine CPU in the cold runs", head, body, note);
}

async function preconditions(): Promise<void> {
  if (!existsSync(resolve("dist/cli/main.js"))) throw new Error("dist/ is missing: run `npm run build` (npm run bench does)");
  await docker.ping().catch((err: unknown) => {
    throw new Error(`no Docker engine reachable: ${String(err)}`);
  });
  for (const image of Object.values(FIXTURE_IMAGES)) {
    await docker
      .getImage(image)
      .inspect()
      .catch(() => {
        throw new Error(`fixture image ${image} is missing: build them with test/fixtures/images/build.sh`);
      });
  }
  await exec("docker-compose", ["version"]).catch(() => {
    throw new Error("docker-compose is not installed (the warm up baseline needs it)");
  });
}

async function machine(): Promise<Record<string, string>> {
  const version = (await docker.version()) as { Version?: string };
  return {
    node: process.version,
    cpus: `${cpus().length} x ${cpus()[0]?.model.trim() ?? "?"}`,
    "load average at start": loadavg()
      .map((l) => l.toFixed(2))
      .join(" "),
    "Docker engine": version.Version ?? "?",
    "peak RSS by": RSS_METHOD,
  };
}

async function main(): Promise<number> {
  await preconditions();
  const quiet = new QuietCheck();
  const ctx = { date: new Date().toISOString(), runs: RUNS, machine: await machine(), notes: [] as string[], warnings: quiet.warnings };
  let ws: Workspace | undefined;
  const measured: Measured[] = [];
  let timings: string | undefined;
  try {
    await cleanupAll(undefined);
    ws = await makeWorkspace();
    // The CLI's code caches (README, Performance) start empty in the workspace: each command's
    // warm-up run writes its own, as a user's first run after an install does.
    process.env.DIFY_LOCAL_CACHE_DIR = join(ws.dir, "cache");
    if (!SKIP_COLD) measured.push(...(await measure(coldScenarios(ws), "cold", quiet)));
    else await Promise.all([run({ ...cli(ws, ["up", "--no-cluster"]) }), exec("docker-compose", composeArgs(ws, "up", "-d"), ws.dir)]);
    measured.unshift(...(await measure(warmScenarios(ws), "warm", quiet)));
    timings = await timingsOf(ws);
  } finally {
    await cleanupAll(ws);
    await cleanupProc();
  }
  const results = measured.map(summarise);
  const targets = evaluate(SKIP_COLD ? TARGETS : [...TARGETS, ...COLD_TARGETS], results);
  ctx.notes.push(
    "Wall time from spawn to exit of each process; the in-process baselines (seed's way, PostgreSQL alone) poll every 25-100 ms with already-loaded clients, the floor those ways can reach.",
    "The compose stack is the bench config's stack under other names and ports (same fixture images, environment, commands, named volumes, loopback ports).",
    "Cold: containers and volumes removed before each run, images present.",
    "dify-local's code caches start empty in the bench's own directory; each command's warm-up run writes its cache, as a user's first run after an install does.",
  );
  const cpu = SKIP_COLD ? undefined : coldCpu(results);
  console.log(`\n${terminalReport(results, targets, "node")}\n${cpu ? `\n${cpu.text}\n` : ""}`);
  const stamp = ctx.date.replace(/[:.]/g, "-");
  const json = { ...ctx, results, targets };
  const markdown = markdownReport(ctx, results, targets, "node", timings ?? "", cpu ? [cpu.markdown] : []);
  const files = await writeResults(resolve("bench/results"), stamp, json, markdown);
  console.log(`written: ${files.join(", ")}`);
  return conclude(targets, quiet.warnings);
}

process.exitCode = await main();
