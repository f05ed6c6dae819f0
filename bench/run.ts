/**
 * `npm run bench`: the speed targets, measured (never asserted in tests). Needs a Docker engine
 * and the fixture images (test/fixtures/images/build.sh). Uses its own names and ports
 * (dlb-*, 22000-22006) and removes what it made. Exits 1 when a target is missed.
 */
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { status, up, verify } from "../src/index.js";
import { cleanup, testConfig } from "../test/support/stack.js";

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const config = testConfig("bench", 22000);

interface Result {
  name: string;
  medianMs: number;
  targetMs: number | undefined;
}

async function measure(name: string, targetMs: number | undefined, work: () => Promise<unknown>): Promise<Result> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await work();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { name, medianMs: times[Math.floor(times.length / 2)] ?? 0, targetMs };
}

function cli(args: string[], env: NodeJS.ProcessEnv): Promise<number | null> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [resolve("bin/dify-local.js"), ...args], { env: { ...process.env, ...env }, stdio: "ignore" });
    child.on("close", done);
  });
}

const results: Result[] = [];
// Issue 2: no engine reachable -> one clear sentence and its exit code within 2 seconds (whole CLI process).
results.push(
  await measure("no engine: CLI answers with exit 3", 2000, () =>
    cli(["status"], { DOCKER_HOST: "unix:///tmp/dify-local-bench-dead.sock" }),
  ),
);

await cleanup(config);
try {
  const t0 = performance.now();
  await up({ config });
  results.push({ name: "up from nothing (images present, 5 services)", medianMs: performance.now() - t0, targetMs: undefined });
  results.push(await measure("up on a converged stack (no changes)", 5000, () => up({ config })));
  results.push(await measure("verify", 3000, () => verify({ config })));
  results.push(await measure("status", 2000, () => status({ config })));
} finally {
  await cleanup(config);
}

let missed = 0;
console.log(`\n${"benchmark".padEnd(50)} ${"median".padStart(9)} ${"target".padStart(9)}`);
for (const r of results) {
  const over = r.targetMs !== undefined && r.medianMs > r.targetMs;
  if (over) missed++;
  console.log(
    `${r.name.padEnd(50)} ${`${r.medianMs.toFixed(0)} ms`.padStart(9)} ${(r.targetMs ? `${r.targetMs} ms` : "-").padStart(9)}${over ? "  MISSED" : ""}`,
  );
}
console.log(`\n(${RUNS} runs each, median)`);
process.exitCode = missed > 0 ? 1 : 0;
