/**
 * The few error types dify-local raises. Each carries the process exit code the CLI uses, so the
 * one top-level handler in `cli/main.ts` never has to guess.
 */

/** Exit codes, documented in the README. */
export const ExitCode = {
  ok: 0,
  /** A check failed or an operation on the engine failed. */
  failed: 1,
  /** Bad input: a config key, a flag, an argument. Nothing was changed. */
  usage: 2,
  /** Something the tool needs is missing: no Docker engine reachable, `kind` not installed. */
  environment: 3,
  /** The machine is in a state dify-local will not override on its own: a port or name is taken. */
  conflict: 4,
  /** Interrupted by SIGINT (Ctrl-C), as shells report it (128 + 2); SIGTERM gives 143 (128 + 15). */
  interrupted: 130,
  terminated: 143,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** Base class: a message for humans, an optional hint (the fix), and an exit code. */
export class DifyLocalError extends Error {
  readonly exitCode: ExitCodeValue;
  readonly hint: string | undefined;
  constructor(message: string, options: { exitCode: ExitCodeValue; hint?: string; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.exitCode = options.exitCode;
    this.hint = options.hint;
  }
}

/** Bad configuration or flags. `key` is the config key path or flag the message is about. */
export class UserError extends DifyLocalError {
  readonly key: string | undefined;
  constructor(message: string, options: { key?: string; hint?: string } = {}) {
    super(message, { exitCode: ExitCode.usage, ...(options.hint ? { hint: options.hint } : {}) });
    this.key = options.key;
  }
}

/** A prerequisite is missing or unreachable (engine, kind). */
export class EnvironmentError extends DifyLocalError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { exitCode: ExitCode.environment, ...options });
  }
}

/** Something on the machine stands in the way (a port, a container name) and is not ours to change. */
export class ConflictError extends DifyLocalError {
  constructor(message: string, options: { hint?: string } = {}) {
    super(message, { exitCode: ExitCode.conflict, ...options });
  }
}

/**
 * The command was interrupted (Ctrl-C, SIGTERM, or a library caller's AbortSignal) and stopped
 * between steps: what finished is in the message, nothing was left half-made, and the next `up`
 * continues from there.
 */
export class InterruptedError extends DifyLocalError {
  /** The signal that interrupted it, when it was one. */
  readonly signal: "SIGINT" | "SIGTERM" | undefined;
  constructor(message: string, options: { signal?: "SIGINT" | "SIGTERM"; hint?: string } = {}) {
    super(message, {
      exitCode: options.signal === "SIGTERM" ? ExitCode.terminated : ExitCode.interrupted,
      ...(options.hint ? { hint: options.hint } : {}),
    });
    this.signal = options.signal;
  }
}

/** A step failed against a real system (engine call, readiness timeout, init). */
export class OperationError extends DifyLocalError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { exitCode: ExitCode.failed, ...options });
  }
}

/** A subprocess (kind) exited non-zero; keeps the command and its output. */
export class SubprocessError extends DifyLocalError {
  readonly command: readonly string[];
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  constructor(command: readonly string[], code: number | null, stdout: string, stderr: string, hint?: string) {
    const tail = (stderr || stdout).trim().split("\n").slice(-15).join("\n");
    super(`\`${command.join(" ")}\` exited with ${code ?? "a signal"}${tail ? `:\n${tail}` : ""}`, {
      exitCode: ExitCode.failed,
      ...(hint ? { hint } : {}),
    });
    this.command = command;
    this.code = code;
    this.stdout = stdout;
    this.stderr = stderr;
  }
}

/** Best-effort one-line message of anything thrown. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
