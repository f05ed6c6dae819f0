import type { Command } from "commander";
import type { EventSink } from "../engine/index.js";
import type { StackOptions } from "../stack/index.js";
import { JsonSink, PlainSink, TtySink } from "./render.js";

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
 * library options its flags mean, and the exit code to end with.
 */
export class Cli {
  exitCode = 0;
  private tty: TtySink | undefined;

  /** One line on stdout. */
  out(line: string): void {
    process.stdout.write(`${line}\n`);
  }

  /** One line on stderr. */
  err(line: string): void {
    process.stderr.write(`${line}\n`);
  }

  /** The flags of `cmd` and of the program above it. */
  flags(cmd: Command): GlobalFlags {
    return cmd.optsWithGlobals<GlobalFlags>();
  }

  /** The library options the global flags mean. */
  base(flags: GlobalFlags): StackOptions {
    return {
      // An empty --config is an error of its own (loadConfig says so), never the same as no --config.
      ...(flags.config !== undefined ? { configFile: flags.config } : {}),
      ...(flags.cluster === false ? { overrides: { cluster: { enabled: false } } } : {}),
    };
  }

  /** JSON lines with --json; live rows on a terminal; plain lines otherwise. */
  sink(flags: GlobalFlags): EventSink {
    if (flags.json) return new JsonSink();
    // A pseudo-terminal without a size (some CI runners) cannot show live rows: plain lines then.
    if (process.stderr.isTTY && (process.stderr.columns ?? 0) > 0) return (this.tty = new TtySink());
    return new PlainSink();
  }

  /** Ends live progress rows (before the result is printed, or an error). */
  closeProgress(): void {
    this.tty?.close();
  }

  /** With --json the result as one line; otherwise `render` prints it for people. */
  result(flags: GlobalFlags, result: object, render: () => void): void {
    if (flags.json) this.out(JSON.stringify({ type: "result", ...result }));
    else render();
  }
}

/** A command's CLI module: adds its verb, options and rendering to the program. */
export type Register = (program: Command, cli: Cli) => void;
