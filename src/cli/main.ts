import { Command, CommanderError } from "commander";
import { enableGarbageTrim } from "../util/memory.js";
import { packageVersion } from "../util/version.js";
import { DifyLocalError, ExitCode, UserError, messageOf } from "../errors.js";
import { Cli, type GlobalFlags, type Register } from "./cli.js";
import { registerDoctor } from "./commands/doctor.js";
import { registerDown } from "./commands/down.js";
import { registerHosts, registerRegistry } from "./commands/hosts.js";
import { registerInfo } from "./commands/info.js";
import { registerSnapshot } from "./commands/snapshot.js";
import { registerStatus, registerVerify } from "./commands/status.js";
import { registerStorage } from "./commands/storage.js";
import { registerUp } from "./commands/up.js";
import { registerValues } from "./commands/values.js";
import { orStalled } from "./stall.js";
import { startTimings, type Startup } from "./timings.js";

/** Every verb, in the order `--help` lists them. */
const COMMANDS: readonly Register[] = [
  registerUp,
  registerDown,
  registerStatus,
  registerVerify,
  registerInfo,
  registerDoctor,
  registerValues,
  registerStorage,
  registerSnapshot,
  registerHosts,
  registerRegistry,
];

/**
 * The CLI: parses argv, runs the command, and maps errors to exit codes. Returns the exit code.
 * `startup` (from the bin file) tells Node's own start from the loading of the CLI's modules in `--timings`.
 */
export async function main(argv: readonly string[], startup?: Startup): Promise<number> {
  startTimings(argv, startup);
  // Alone on the line, as `node --version`: nothing else is loaded or parsed.
  if (argv.length === 3 && (argv[2] === "--version" || argv[2] === "-V")) {
    process.stdout.write(`${await packageVersion()}\n`);
    return ExitCode.ok;
  }
  // A CLI process is short and one command: bounded memory matters more than V8's own schedule.
  enableGarbageTrim();
  const cli = new Cli();
  const program = new Command("dify-local")
    .description("Bring up, verify and tear down the local infrastructure for Dify Enterprise Edition.")
    .option("-c, --config <file>", "config file (default: ./dify-local.yaml when present)")
    .option("--json", "machine-readable output: JSON lines")
    .option("--no-cluster", "leave the kind cluster out: host services only (config: cluster.enabled: false)")
    .option("--verbose", "show stack traces on errors")
    .option("--timings", "print where the time went at the end, on stderr (also DIFY_LOCAL_TIMINGS=1)")
    .option("-V, --version", "print dify-local's version (alone on the command line)")
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(cli.redact(s)), writeOut: (s) => process.stdout.write(s) });
  for (const register of COMMANDS) register(program, cli);
  try {
    // A call that can never settle (its connection closed without an answer) is reported, not left to Node's exit code 13.
    await orStalled(program.parseAsync(argv));
  } catch (err) {
    cli.closeProgress();
    const opts = program.opts<GlobalFlags>();
    // The library masked what it knew; the CLI's redactor knows the same secrets and masks once more.
    return reportError(cli.redactor.redactError(err), opts.json ?? argv.includes("--json"), opts.verbose ?? argv.includes("--verbose"));
  } finally {
    cli.dispose();
  }
  return cli.exitCode;
}

/** The one top-level handler: a message and a hint (the fix), the exit code of the error's type; stack traces only with --verbose. */
function reportError(err: unknown, json: boolean, verbose: boolean): number {
  if (err instanceof CommanderError) {
    // Commander already printed its message (and help where relevant).
    if (err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help") return ExitCode.ok;
    if (json) process.stdout.write(`${JSON.stringify(commanderErrorJson(err))}\n`);
    return ExitCode.usage;
  }
  const known = err instanceof DifyLocalError;
  const code = known ? err.exitCode : ExitCode.failed;
  if (json) process.stdout.write(`${JSON.stringify(errorJson(err, code))}\n`);
  else {
    process.stderr.write(`error: ${messageOf(err)}\n`);
    if (known && err.hint) process.stderr.write(`hint: ${err.hint}\n`);
  }
  if (verbose && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  else if (!known) process.stderr.write("(run with --verbose for the stack trace)\n");
  return code;
}

/** A flag or argument commander refused (unknown option, missing value), as the `--json` error line of bad input. */
function commanderErrorJson(err: CommanderError): Record<string, unknown> {
  const message = err.message.replace(/^error: /, "");
  // The flag the message is about: the long form when it names both ("option '-c, --config <file>' argument missing").
  const flags = [...message.matchAll(/(?<![\w-])--?[A-Za-z][\w-]*/g)].map((m) => m[0]);
  const key = flags.find((f) => f.startsWith("--")) ?? flags[0] ?? /'([^']+)'/.exec(message)?.[1];
  return { type: "error", exitCode: ExitCode.usage, error: "UserError", message, ...(key ? { key } : {}) };
}

/** The `--json` form of an error: its type, message, hint and, for bad input, the key or flag. */
function errorJson(err: unknown, exitCode: number): Record<string, unknown> {
  const known = err instanceof DifyLocalError;
  return {
    type: "error",
    exitCode,
    error: known ? err.name : "Error",
    message: messageOf(err),
    ...(known && err.hint ? { hint: err.hint } : {}),
    ...(err instanceof UserError && err.key ? { key: err.key } : {}),
  };
}
