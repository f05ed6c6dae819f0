import { spawn, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";

/** One JSON line of `--json` output: an event, the result, or an error. */
export type JsonLine = { type: string } & Record<string, unknown>;

export interface CliExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  lines: JsonLine[];
  stderr: string;
}

const ENTRY = resolve("test/support/cli-src.ts");

/**
 * The CLI as a child process (from the sources, through tsx), with `--json` output parsed as it
 * arrives, so a test can act at a chosen point of a running command (send a signal, kill a
 * container, pause the process) and then read how it ended.
 */
export class CliChild {
  readonly child: ChildProcess;
  readonly lines: JsonLine[] = [];
  private stderrText = "";
  private readonly waiters = new Set<() => void>();
  private exit: CliExit | undefined;
  readonly done: Promise<CliExit>;

  constructor(args: readonly string[], env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(process.execPath, ["--import", "tsx", ENTRY, ...args, "--json"], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let buffer = "";
    this.child.stdout?.on("data", (d: Buffer) => {
      buffer += d.toString();
      let i: number;
      while ((i = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, i).trim();
        buffer = buffer.slice(i + 1);
        if (line) this.lines.push(parse(line));
      }
      this.notify();
    });
    this.child.stderr?.on("data", (d: Buffer) => (this.stderrText += d.toString()));
    this.done = new Promise((done) => {
      this.child.on("close", (code, signal) => {
        this.exit = { code, signal, lines: this.lines, stderr: this.stderrText };
        this.notify();
        done(this.exit);
      });
    });
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error("the CLI did not start");
    return this.child.pid;
  }

  get stderr(): string {
    return this.stderrText;
  }

  /** The events seen so far. */
  events(): Array<{ step: string; status: string; detail?: string }> {
    return this.lines.filter((l) => l.type === "event") as unknown as Array<{ step: string; status: string; detail?: string }>;
  }

  /** Resolves with the first line matching `match` (seen already or to come); rejects if the CLI ends first or time runs out. */
  async next(match: (line: JsonLine) => boolean, timeoutMs = 120_000): Promise<JsonLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.lines.find(match);
      if (hit) return hit;
      if (this.exit) throw new Error(`the CLI ended (code ${this.exit.code}) before the line awaited:\n${this.describe()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no such line within ${timeoutMs} ms:\n${this.describe()}`);
      await new Promise<void>((wake) => {
        const timer = setTimeout(wake, left);
        this.waiters.add(() => {
          clearTimeout(timer);
          wake();
        });
      });
    }
  }

  /** The first event of `step` with `status`. */
  event(step: string, status: string, timeoutMs?: number): Promise<JsonLine> {
    return this.next((l) => l.type === "event" && l.step === step && l.status === status, timeoutMs);
  }

  /** Waits for the end, at most `timeoutMs`; then kills the child and rejects (a bound, not a timing assertion). */
  async exited(timeoutMs = 120_000): Promise<CliExit> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.child.kill("SIGKILL");
        reject(new Error(`the CLI did not end within ${timeoutMs} ms:\n${this.describe()}`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([this.done, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The final `{"type":"error"}` or `{"type":"result"}` line. */
  outcome(): JsonLine | undefined {
    return this.lines.find((l) => l.type === "error" || l.type === "result");
  }

  /** Ends the child if it still runs (test cleanup). */
  async stop(): Promise<void> {
    if (this.exit) return;
    this.child.kill("SIGCONT");
    this.child.kill("SIGKILL");
    await this.done;
  }

  private describe(): string {
    return [...this.lines.map((l) => JSON.stringify(l)), this.stderrText].join("\n").slice(-4000);
  }

  private notify(): void {
    for (const w of this.waiters) w();
    this.waiters.clear();
  }
}

function parse(line: string): JsonLine {
  try {
    return JSON.parse(line) as JsonLine;
  } catch {
    return { type: "text", text: line };
  }
}
