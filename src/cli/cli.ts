import type { Command } from "commander";
import { redactingSink, type EventSink } from "../engine/events.js";
import { ExitCode, InterruptedError } from "../errors.js";
import type { StackOptions } from "../stack/index.js";
import { Redactor } from "../util/redact.js";
import { JsonSink, PlainSink, TtySink } from "./render.js";
import { timingSink } from "./timings.js";

/** The flags every command takes. */
export interface GlobalFlags {
  config?: string;
  /** false with --no-cluster. */
  cluster?: boolean;
  json?: boolean;
  verbose?: boolean;
}

/**
 * What a command's CLI module gets: where output goes, the progress sink for its flags, the
 * library options its flags mean, and the exit code to end with. Everything it prints passes
 * through its {@link Redactor}, which the command fills with every configured and live secret;
 * only {@link Cli.revealed} output (`info --show-secrets`, `values` on stdout) is printed as is.
 */
export class Cli {
  exitCode = 0;
  /** The one redaction point of this run: given to the library command, applied to all output. */
  readonly redactor = new Redactor();
  private tty: TtySink | undefined;

  private interrupt: { controller: AbortController; dispose: () => void } | undefined;

  /** One line on stdout, secrets masked. */
  out(line: string): void {
    process.stdout.write(`${this.redact(line)}\n`);
  }

  /** One line on stderr, secrets masked. */
  err(line: string): void {
    process.stderr.write(`${this.redact(line)}\n`);
  }

  /** Text on stdout as is: only for what the user asked to see with its secrets. */
  revealed(text: string): void {
    process.stdout.write(text);
  }

  redact(text: string): string {
    return this.redactor.redact(text);
  }

  /** The flags of `cmd` and of the program above it. */
  flags(cmd: Command): GlobalFlags {
    return cmd.optsWithGlobals<GlobalFlags>();
  }

  /** The library options the global flags mean. */
  base(flags: GlobalFlags): StackOptions {
    return {
      redactor: this.redactor,
      // An empty --config is an error of its own (loadConfig says so), never the same as no --config.
      ...(flags.config !== undefined ? { configFile: flags.config } : {}),
      ...(flags.cluster === false ? { overrides: { cluster: { enabled: false } } } : {}),
    };
  }

  /**
   * For a command that stops cleanly between steps (`up`, `down`): from now on SIGINT (Ctrl-C) and
   * SIGTERM abort the returned signal instead of killing the process, so the command finishes the
   * step in flight, starts no other, releases its lock and says what it did (exit 130, or 143 for
   * SIGTERM). A second signal exits at once (the lock is still released, by its exit hook). Other
   * commands keep the default: the signal ends them.
   */
  interruptible(): AbortSignal {
    if (this.interrupt) return this.interrupt.controller.signal;
    const controller = new AbortController();
    const handle = (signal: "SIGINT" | "SIGTERM"): void => {
      const code = signal === "SIGINT" ? ExitCode.interrupted : ExitCode.terminated;
      if (controller.signal.aborted) {
        this.err(`\n${signal} again: exiting now; the step in flight may be unfinished (the next \`dify-local up\` completes it)`);
        process.exit(code);
      }
      this.err(`\n${signal}: stopping after the step in flight (Ctrl-C again quits at once)`);
      controller.abort(new InterruptedError(`interrupted by ${signal}`, { signal }));
    };
    const onInt = (): void => handle("SIGINT");
    const onTerm = (): void => handle("SIGTERM");
    process.on("SIGINT", onInt);
    process.on("SIGTERM", onTerm);
    const dispose = (): void => {
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
    };
    this.interrupt = { controller, dispose };
    return controller.signal;
  }

  /** Gives SIGINT and SIGTERM back their default (after the command). */
  dispose(): void {
    this.interrupt?.dispose();
    this.interrupt = undefined;
  }

  /** JSON lines with --json; live rows on a terminal; plain lines otherwise. Secrets masked in each. */
  sink(flags: GlobalFlags): EventSink {
    // Each step timed (--timings), then every detail masked on its way out.
    return redactingSink(timingSink(this.rawSink(flags)), (text) => this.redact(text));
  }

  private rawSink(flags: GlobalFlags): EventSink {
    if (flags.json) return new JsonSink();
    // A pseudo-terminal without a size (some CI runners) cannot show live rows: plain lines then.
    if (process.stderr.isTTY && (process.stderr.columns ?? 0) > 0) return (this.tty = new TtySink());
    return new PlainSink();
  }

  /** Ends live progress rows (before the result is printed, or an error). */
  closeProgress(): void {
    this.tty?.close();
  }

  /**
   * With --json the result as one line, every string in it masked (unless `reveal`: the user asked
   * for the secrets); otherwise `render` prints it for people, through {@link Cli.out}.
   */
  result(flags: GlobalFlags, result: object, render: () => void, options: { reveal?: boolean } = {}): void {
    if (!flags.json) render();
    else if (options.reveal) this.revealed(`${JSON.stringify({ type: "result", ...result })}\n`);
    else this.out(JSON.stringify({ type: "result", ...this.redactor.redactValue(result) }));
  }
}

/** A command's CLI module: adds its verb, options and rendering to the program. */
export type Register = (program: Command, cli: Cli) => void;
