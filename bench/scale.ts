/**
 * `npm run bench:scale` (issue 14): a command's cost must not grow with the data the user stores.
 * Times `doctor`, `verify`, `storage ls`, `storage get` and `storage cp` as a user runs them (the bin, whole
 * processes) on a MinIO-only stack, first with an empty bucket, then with 10,000 small objects, then
 * with 1 GB more in large objects, all in one run; prints the table, writes
 * bench/results/scale-latest.{md,json}, and exits 1 when a target is missed:
 * - doctor and verify within 1.2x of their empty-bucket time;
 * - storage ls linear in the objects (10,000 objects at most 1.2x the per-object cost of 2,000);
 * - peak memory of every command under 100 MB, whatever the data.
 * Its own names and ports (24000-24009) and scratch directory; removes what it made.
 */
import { createReadStream } from "node:fs";
import { mkdtemp, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { stringify } from "yaml";
import { cleanupProc, QuietCheck, run, type Command } from "./proc.js";
import {
  conclude,
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
import { seedS3 } from "../test/support/clients.js";
import { cleanup, docker, testConfig } from "../test/support/stack.js";
import { Runtime } from "../src/runtime/index.js";
import { MINIO_DATA_DIR, OBJECT_META } from "../src/services/minio/index.js";

const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 3));
const BIN = resolve("bin/dify-local.js");
const BASE = 24000;
const config = testConfig("benchscale", BASE, {
  postgres: { enabled: false },
  redis: { enabled: false },
  qdrant: { enabled: false },
  registry: { enabled: false },
});
/** The stack's MinIO container, as testConfig names it. */
const MINIO_CONTAINER = `${config.minio?.container}`;
const SMALL = 10_000;
const FEW = 2_000;
const LARGE_OBJECTS = 4;
const LARGE_BYTES = 256 * 1024 * 1024;

interface Phase {
  id: string;
  label: string;
}

const commands = (dir: string, out: string, key: string): Array<{ id: string; label: string; command: Command }> => [
  { id: "doctor", label: "doctor", command: { cmd: process.execPath, args: [BIN, "doctor"], cwd: dir } },
  { id: "verify", label: "verify", command: { cmd: process.execPath, args: [BIN, "verify"], cwd: dir } },
  { id: "ls", label: "storage ls", command: { cmd: process.execPath, args: [BIN, "storage", "ls"], cwd: dir } },
  {
    id: "get",
    label: "storage get KEY FILE",
    command: { cmd: process.execPath, args: [BIN, "storage", "get", key, out, "--force"], cwd: dir },
  },
  // Uploads what get just wrote: the same size each way.
  {
    id: "cp",
    label: "storage cp FILE KEY",
    command: { cmd: process.execPath, args: [BIN, "storage", "cp", out, "bench/uploaded.bin"], cwd: dir },
  },
];

/**
 * The doctor's walk of the bucket's directory alone, in this process: the call the doctor makes
 * (Runtime.listFiles: `ls -R` run in the MinIO container, names only), so the report can show how
 * much of what the bucket adds to `doctor` is that walk, against what the target leaves for it.
 */
async function walkOnce(runtime: Runtime): Promise<number> {
  const t0 = performance.now();
  const listing = await runtime.listFiles(MINIO_CONTAINER, `${MINIO_DATA_DIR}/dify`, { exclude: [OBJECT_META] });
  const ms = performance.now() - t0;
  if (!listing?.complete) throw new Error(`the walk of ${MINIO_CONTAINER}:${MINIO_DATA_DIR}/dify did not list it all`);
  return ms;
}

async function measurePhase(phase: Phase, dir: string, key: string, quiet: QuietCheck, runtime: Runtime): Promise<Measured[]> {
  const out = join(dir, "out.bin");
  const list = commands(dir, out, key);
  const measured = list.map((c): Measured => ({
    id: `${c.id}-${phase.id}`,
    label: `${c.label}, ${phase.label}`,
    command: c.label,
    dl: true,
    samples: [],
    rssKb: [],
  }));
  const walk: Measured = {
    id: `walk-${phase.id}`,
    label: `doctor's walk alone (in-process), ${phase.label}`,
    command: "Runtime.listFiles of the bucket directory",
    dl: false,
    samples: [],
    rssKb: [],
  };
  for (let round = 0; round <= RUNS; round++) {
    process.stderr.write(`${phase.label}: ${round === 0 ? "warm-up round" : `round ${round}/${RUNS}`}\n`);
    if (round > 0) await quiet.check(`${phase.label} round ${round}`);
    for (const [i, c] of list.entries()) {
      const r = await run(c.command);
      // doctor exits 1 when it finds something; the bucket is healthy here, so any failure is the bench's.
      if (r.code !== 0) throw new Error(`${c.label} (${phase.label}) exited ${r.code}\n${r.stdout}\n${r.stderr}`);
      if (round === 0) continue;
      measured[i]?.samples.push(r.ms);
      measured[i]?.rssKb.push(r.rssKb);
    }
    const ms = await walkOnce(runtime);
    if (round > 0) walk.samples.push(ms);
  }
  measured.push(walk);
  await rm(out, { force: true });
  return measured;
}

/** Puts `count` small objects (spread over prefixes as Dify's are), 16 at a time. */
async function fill(from: number, count: number): Promise<void> {
  const s3 = seedS3(BASE + 3);
  let next = from;
  const worker = async (): Promise<void> => {
    while (next < from + count) {
      const n = next++;
      await s3.putObject("dify", `files/t${n % 50}/${n}.txt`, Buffer.from(`object ${n}\n`));
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}

async function fillLarge(dir: string): Promise<string> {
  const s3 = seedS3(BASE + 3);
  const file = join(dir, "large.bin");
  await writeFile(file, "");
  await truncate(file, LARGE_BYTES);
  for (let i = 0; i < LARGE_OBJECTS; i++)
    await s3.putObject("dify", `plugin_packages/large-${i}.difypkg`, createReadStream(file), LARGE_BYTES);
  await rm(file);
  return `plugin_packages/large-0.difypkg`;
}

const TARGETS: Target[] = [
  { what: "doctor, 10,000 objects <= 1.2x empty bucket", kind: "ratio", scenario: "doctor-10k", baseline: "doctor-empty", limit: 1.2 },
  { what: "doctor, + 1 GB <= 1.2x empty bucket", kind: "ratio", scenario: "doctor-1g", baseline: "doctor-empty", limit: 1.2 },
  { what: "verify, 10,000 objects <= 1.2x empty bucket", kind: "ratio", scenario: "verify-10k", baseline: "verify-empty", limit: 1.2 },
  { what: "verify, + 1 GB <= 1.2x empty bucket", kind: "ratio", scenario: "verify-1g", baseline: "verify-empty", limit: 1.2 },
  {
    what: `storage ls linear: ${SMALL} objects <= 1.2 x ${SMALL / FEW} x the time of ${FEW}`,
    kind: "ratio",
    scenario: "ls-10k",
    baseline: "ls-2k",
    limit: 1.2 * (SMALL / FEW),
  },
  { what: "peak RSS of every command <= 100 MB", kind: "rss", limit: 100 },
];

const PHASES = ["empty", "2k", "10k", "1g"] as const;

/**
 * What the bucket adds to `doctor`, beside what its walk alone adds: the target's budget is 0.2x
 * doctor's empty-bucket time, and the walk (one read of every object's directory in the container)
 * is what grows. Shown beside the targets, never instead of them.
 */
function walkSection(results: readonly Summary[]): { text: string; markdown: string } | undefined {
  const by = new Map(results.map((r) => [r.id, r.median]));
  const doctor0 = by.get("doctor-empty");
  const walk0 = by.get("walk-empty");
  if (doctor0 === undefined || walk0 === undefined) return undefined;
  const ms = (n: number): string => `${Math.round(n)} ms`;
  const plus = (n: number): string => `${n >= 0 ? "+" : ""}${Math.round(n)} ms`;
  const head = ["phase", "doctor", "doctor, added by the data", "the walk alone", "the walk, added by the data"];
  const body = PHASES.flatMap((phase) => {
    const doctor = by.get(`doctor-${phase}`);
    const walk = by.get(`walk-${phase}`);
    const label = results.find((r) => r.id === `walk-${phase}`)?.label.replace(/^.*, /, "");
    return doctor === undefined || walk === undefined || !label
      ? []
      : [[label, ms(doctor), plus(doctor - doctor0), ms(walk), plus(walk - walk0)]];
  });
  const note =
    `The 1.2x target leaves ${ms(0.2 * doctor0)} (0.2 x doctor's empty-bucket time) for everything the data adds. ` +
    "The walk alone is the doctor's own call (Runtime.listFiles in this process: `ls -R` in the MinIO container, names only, one read of each object's directory); " +
    "with an empty bucket it is the exec's fixed cost, which the empty-bucket doctor pays too.";
  return section("What the data adds to doctor", head, body, note);
}

async function main(): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), "dlb-scale-"));
  // The CLI's code caches start empty here: each command's warm-up run writes its own.
  process.env.DIFY_LOCAL_CACHE_DIR = join(dir, "cache");
  await writeFile(join(dir, "dify-local.yaml"), stringify(config));
  const measured: Measured[] = [];
  const quiet = new QuietCheck();
  const runtime = new Runtime(docker);
  try {
    await cleanup(config);
    const up = await run({ cmd: process.execPath, args: [BIN, "up", "--no-cluster"], cwd: dir });
    if (up.code !== 0) throw new Error(`up failed:\n${up.stderr}`);
    const s3 = seedS3(BASE + 3);
    await s3.putObject("dify", "probe/one.txt", Buffer.from("one object to get\n"));
    measured.push(...(await measurePhase({ id: "empty", label: "empty bucket" }, dir, "probe/one.txt", quiet, runtime)));
    await fill(0, FEW);
    measured.push(...(await measurePhase({ id: "2k", label: `${FEW} objects` }, dir, "probe/one.txt", quiet, runtime)));
    await fill(FEW, SMALL - FEW);
    measured.push(...(await measurePhase({ id: "10k", label: `${SMALL} objects` }, dir, "probe/one.txt", quiet, runtime)));
    const largeKey = await fillLarge(dir);
    measured.push(...(await measurePhase({ id: "1g", label: `${SMALL} objects + 1 GB` }, dir, largeKey, quiet, runtime)));
  } finally {
    await cleanup(config);
    await rm(dir, { recursive: true, force: true });
    await cleanupProc();
  }
  const results = measured.map(summarise);
  const targets = evaluate(TARGETS, results);
  const ctx = {
    date: new Date().toISOString(),
    runs: RUNS,
    machine: { node: process.version },
    warnings: quiet.warnings,
    notes: [
      "A MinIO-only stack (the other services disabled), so the bucket is all that changes between phases.",
      `Phases in one run: an empty bucket (one object to get), ${FEW} then ${SMALL} small objects, then ${LARGE_OBJECTS} x ${LARGE_BYTES / 1024 / 1024} MB more; \`storage get\` fetches the largest object in the last phase.`,
      "MinIO is the test stand-in (s3rver behind SigV4 verification), so absolute times are the stand-in's.",
      "dify-local's code caches start empty in the bench's own directory; each command's warm-up run writes its cache.",
    ],
  };
  const walk = walkSection(results);
  console.log(`\n${terminalReport(results, targets, "doctor-empty")}\n${walk ? `\n${walk.text}\n` : ""}`);
  const stamp = `scale-${ctx.date.replace(/[:.]/g, "-")}`;
  const files = await writeResults(
    resolve("bench/results"),
    stamp,
    { ...ctx, results, targets },
    markdownReport(ctx, results, targets, "doctor-empty", "", walk ? [walk.markdown] : []),
    "scale-latest",
  );
  console.log(`written: ${files.join(", ")}`);
  return conclude(targets, quiet.warnings);
}

process.exitCode = await main();
