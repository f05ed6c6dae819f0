import { spawn } from "node:child_process";
import { resolve } from "node:path";

/** The built CLI, as a user runs it (`npm run build` first). */
export const BIN = resolve("bin/dify-local.js");

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node bin/dify-local.js ARGS` in `cwd` with `env` over this process's environment. */
export function runCli(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => done({ code, stdout, stderr }));
  });
}

/** The JSON lines a `--json` run printed, each parsed. */
export function jsonLines(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The `result` line of a `--json` run (empty when there is none). */
export function resultLine(stdout: string): Record<string, unknown> {
  return jsonLines(stdout).find((l) => l.type === "result") ?? {};
}
