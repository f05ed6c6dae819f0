import { createInterface } from "node:readline/promises";
import { Command, CommanderError, Option } from "commander";
import { doctor, down, hosts, info, values, registryList, status, storageCopy, storageGet, storageList, up, verify, type CommandOptions, type UpResult } from "../commands/index.js";
import type { Finding } from "../doctor/index.js";
import type { EventSink } from "../engine/index.js";
import { DifyLocalError, ExitCode, UserError } from "../errors.js";
import type { Check } from "../services/index.js";
import { JsonSink, PlainSink, TtySink, table } from "./render.js";

interface GlobalFlags {
  config?: string;
  /** false with --no-cluster. */
  cluster?: boolean;
  json?: boolean;
  verbose?: boolean;
}

/** The CLI: parses argv, calls the library, renders, and maps errors to exit codes. Returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let exitCode: number = ExitCode.ok;
  let jsonMode = argv.includes("--json");
  let verbose = argv.includes("--verbose");
  let tty: TtySink | undefined;
  const out = (s: string) => process.stdout.write(`${s}\n`);

  const sinkFor = (flags: GlobalFlags): EventSink => {
    if (flags.json) return new JsonSink();
    // A pseudo-terminal without a size (some CI runners) cannot show live rows: plain lines then.
    if (process.stderr.isTTY && (process.stderr.columns ?? 0) > 0) return (tty = new TtySink());
    return new PlainSink();
  };
  const base = (flags: GlobalFlags): CommandOptions => ({
    ...(flags.config ? { configFile: flags.config } : {}),
    ...(flags.cluster === false ? { overrides: { cluster: { enabled: false } } } : {}),
  });

  const program = new Command("dify-local")
    .description("Bring up, verify and tear down the local infrastructure for Dify Enterprise Edition.")
    .option("-c, --config <file>", "config file (default: ./dify-local.yaml when present)")
    .option("--json", "machine-readable output: JSON lines")
    .option("--no-cluster", "leave the kind cluster out: host services only (config: cluster.enabled: false)")
    .option("--verbose", "show stack traces on errors")
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) });

  program
    .command("up")
    .description("create, start and initialise every service; a rerun changes nothing")
    .option("--dry-run", "print the plan and change nothing")
    .addOption(new Option("--pull <mode>", "when to pull images: missing | always").default("missing"))
    .option("--recreate", "replace containers with the seed's names that were made by hand and differ from the config")
    .action(async (opts: { dryRun?: boolean; pull: string; recreate?: boolean }, cmd: Command) => {
      const flags = cmd.optsWithGlobals<GlobalFlags>();
      if (opts.pull !== "missing" && opts.pull !== "always") {
        throw new UserError(`--pull must be missing or always (got "${opts.pull}")`, { key: "--pull" });
      }
      const result = await up({ ...base(flags), sink: sinkFor(flags), dryRun: opts.dryRun ?? false, pull: opts.pull, recreate: opts.recreate ?? false });
      tty?.close();
      renderUp(result, flags, out);
      if (!result.ok) exitCode = ExitCode.failed;
    });

  program
    .command("down")
    .description("remove the containers; data volumes stay unless --purge")
    .option("--purge", "also delete the data volumes (asks first; --yes when not interactive)")
    .option("-y, --yes", "do not ask before --purge deletes data")
    .option("--keep-cluster", "leave the kind cluster running")
    .action(async (opts: { purge?: boolean; yes?: boolean; keepCluster?: boolean }, cmd: Command) => {
      const flags = cmd.optsWithGlobals<GlobalFlags>();
      if (opts.purge && !opts.yes) await confirmPurge();
      const result = await down({ ...base(flags), sink: sinkFor(flags), purge: opts.purge ?? false, keepCluster: opts.keepCluster ?? false });
      tty?.close();
      if (flags.json) out(JSON.stringify({ type: "result", ...result }));
      else {
        if (result.clusterDeleted) out(`deleted kind cluster ${result.clusterDeleted}`);
        out(result.removed.length ? `removed ${result.removed.join(", ")}` : "no dify-local containers to remove");
        if (result.leftAlone.length) out(`left alone (made outside dify-local): ${result.leftAlone.join(", ")}`);
        if (result.volumesRemoved.length) out(`deleted volumes ${result.volumesRemoved.join(", ")}`);
        if (result.volumesKept.length) out(`kept volumes ${result.volumesKept.join(", ")} (dify-local down --purge deletes them)`);
        if (result.volumesLeftAlone.length) out(`kept volumes made outside dify-local: ${result.volumesLeftAlone.join(", ")} (--purge never deletes them)`);
      }
    });

  program
    .command("status")
    .description("a table of service, container, state, endpoint and health")
    .action(async (_opts: unknown, cmd: Command) => {
      const flags = cmd.optsWithGlobals<GlobalFlags>();
      const result = await status(base(flags));
      if (flags.json) out(JSON.stringify({ type: "result", ...result }));
      else out(table(["SERVICE", "CONTAINER", "STATE", "ENDPOINT", "HEALTH"], result.services.map((s) => [s.service, s.container + (s.owner === "adopted" ? " (adopted)" : ""), s.state, s.endpoint, s.health])));
    });

  program
    .command("verify")
    .description("run every check of the seed; exit 1 when one fails")
    .action(async (_opts: unknown, cmd: Command) => {
      const flags = cmd.optsWithGlobals<GlobalFlags>();
      const result = await verify(base(flags));
      if (flags.json) out(JSON.stringify({ type: "result", ...result }));
      else out(renderChecks(result.checks));
      if (!result.ok) exitCode = ExitCode.failed;
    });

  program
    .command("info")
    .description("connection details from the host and from the cluster; secrets masked unless --show-secrets")
    .option("--show-secrets", "print passwords and keys")
    .action(async (opts: { showSecrets?: boolean }, cmd: Command) => {
      const flags = cmd.optsWithGlobals<GlobalFlags>();
      const result = await info({ ...base(flags), showSecrets: opts.showSecrets ?? false });
      if (flags.json) {
        out(JSON.stringify({ type: "result", ...result }));
        return;
      }
      for (const s of result.services) {
        out(`${s.service} (${s.container})`);
        for (const e of s.endpoints) out(`  ${e.label.padEnd(10)} host: ${e.host}   cluster: ${e.cluster}`);
        for (const c of s.credentials) out(`  ${c.label.padEnd(10)} ${c.value}`);
      }
      if (result.services.some((s) => s.credentials.some((c) => c.masked))) out("(secrets masked; --show-secrets prints them)");
    });

  program
    .command("doctor")
    .description("diagnose the machine and the stack; each finding with why and the exact fix; exit 1 on an error")
    .option("--values <file>", "also check a Helm values.yaml against the live stack, key by key")
    .action(async (opts: { values?: string }, cmd: Command) => {
      const flags = cmd.optsWithGlobals<GlobalFlags>();
      const result = await doctor({ ...base(flags), ...(opts.values ? { valuesFile: opts.values } : {}) });
      if (flags.json) out(JSON.stringify({ type: "result", ...result }));
      else {
        out(renderFindings(result.findings));
        out(`\n${result.errors} error${result.errors === 1 ? "" : "s"}, ${result.warnings} warning${result.warnings === 1 ? "" : "s"}`);
      }
      if (!result.ok) exitCode = ExitCode.failed;
    });

  program
    .command("values")
    .description("Helm values (infrastructure part) with the live credentials of the running stack")
    .option("--chart <line>", "chart line: 3.7 or 3.9 (default: the --merge file's, else 3.9)")
    .option("--format <format>", "yaml (Helm values) or env (community edition .env names)")
    .option("-o, --output <file>", "write to FILE (mode 0600) instead of stdout")
    .option("--merge <file>", "update only these keys in an existing values.yaml, keeping every other key and comment (backup FILE.bak)")
    .action(async (opts: { chart?: string; format?: string; output?: string; merge?: string }, cmd: Command) => {
      const flags = cmd.optsWithGlobals<GlobalFlags>();
      const result = await values({
        ...base(flags),
        ...(opts.chart !== undefined ? { chart: opts.chart } : {}),
        ...(opts.format !== undefined ? { format: opts.format } : {}),
        ...(opts.output !== undefined ? { output: opts.output } : {}),
        ...(opts.merge !== undefined ? { merge: opts.merge } : {}),
      });
      for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
      if (result.secrets?.created) process.stderr.write(`generated chart secrets in ${result.secrets.file} (0600); later renders reuse them\n`);
      if (flags.json) out(JSON.stringify({ type: "result", ...result }));
      else if (result.text !== undefined) process.stdout.write(result.text);
      else if (result.written) out(`wrote ${result.written} (mode 0600)`);
      else if (result.merged) {
        const m = result.merged;
        out(m.changed.length === 0 ? `${m.file} already up to date` : `merged ${m.changed.length} keys into ${m.file}${m.backup ? ` (backup ${m.backup})` : ""}`);
        if (m.layout === "rewritten") process.stderr.write(`note: ${m.file} was re-serialised as a whole; compare it with ${m.backup ?? "the backup"}\n`);
      }
    });

  const storageCmd = program.command("storage").description("objects in the MinIO bucket, through S3 with the live credentials");
  storageCmd
    .command("ls [prefix]")
    .description("every object, recursively (the seed's mc ls --recursive); only keys under PREFIX when given")
    .action(async (prefix: string | undefined, _opts: unknown, cmd: Command) => {
      const flags = cmd.optsWithGlobals<GlobalFlags>();
      const result = await storageList({ ...base(flags), ...(prefix ? { prefix } : {}) });
      if (flags.json) out(JSON.stringify({ type: "result", ...result }));
      else if (result.objects.length === 0) out(`no objects in bucket ${result.bucket}${prefix ? ` under ${prefix}` : ""}`);
      else out(table(["KEY", "SIZE", "LAST MODIFIED"], result.objects.map((o) => [o.key, String(o.size), o.lastModified])));
    });
  storageCmd
    .command("cp <local> <key>")
    .description("upload a local file as KEY (the seed's \"correct way\": never copy into the data directory)")
    .action(async (local: string, key: string, _opts: unknown, cmd: Command) => {
      const flags = cmd.optsWithGlobals<GlobalFlags>();
      const result = await storageCopy({ ...base(flags), local, key });
      if (flags.json) out(JSON.stringify({ type: "result", ...result }));
      else out(`uploaded ${local} to ${result.bucket}/${result.key} (${result.size} bytes)`);
    });
  storageCmd
    .command("get <key> [local]")
    .description("download KEY to LOCAL, or to stdout when LOCAL is omitted")
    .option("--force", "overwrite an existing local file")
    .action(async (key: string, local: string | undefined, opts: { force?: boolean }, cmd: Command) => {
      const flags = cmd.optsWithGlobals<GlobalFlags>();
      if (local === undefined) {
        if (flags.json) throw new UserError("storage get writes the object's bytes to stdout without LOCAL; --json needs a LOCAL file", { key: "--json" });
        process.stdout.write(await storageGet({ ...base(flags), key }));
        return;
      }
      const result = await storageGet({ ...base(flags), key, local, force: opts.force ?? false });
      if (flags.json) out(JSON.stringify({ type: "result", ...result }));
      else out(`wrote ${result.written} (${result.size} bytes)`);
    });

  program
    .command("hosts")
    .description("print the /etc/hosts line for the *.dify.local names; --apply writes it in a marked block")
    .option("--apply", "add or update the dify-local block in /etc/hosts (needs the rights to)")
    .option("--remove", "take the dify-local block out of /etc/hosts")
    .action(async (opts: { apply?: boolean; remove?: boolean }, cmd: Command) => {
      const flags = cmd.optsWithGlobals<GlobalFlags>();
      const result = await hosts({ apply: opts.apply ?? false, remove: opts.remove ?? false });
      if (flags.json) out(JSON.stringify({ type: "result", ...result }));
      else if (!opts.apply && !opts.remove) out(result.line);
      else if (!result.changed) out(`${result.file} already up to date`);
      else out(opts.apply ? `added the dify-local block to ${result.file}` : `removed the dify-local block from ${result.file}`);
    });

  const registryCmd = program.command("registry").description("the local image registry");
  registryCmd
    .command("ls")
    .description("repositories and their tags in the local registry")
    .action(async (_opts: unknown, cmd: Command) => {
      const flags = cmd.optsWithGlobals<GlobalFlags>();
      const result = await registryList(base(flags));
      if (flags.json) out(JSON.stringify({ type: "result", ...result }));
      else if (result.repositories.length === 0) out(`no repositories in ${result.registry}`);
      else out(table(["REPOSITORY", "TAGS"], result.repositories.map((r) => [r.name, r.tags.join(", ")])));
    });

  try {
    await program.parseAsync(argv as string[]);
  } catch (err) {
    tty?.close();
    const opts = program.opts<GlobalFlags>();
    jsonMode = opts.json ?? jsonMode;
    verbose = opts.verbose ?? verbose;
    return reportError(err, jsonMode, verbose);
  }
  return exitCode;
}

function renderUp(result: UpResult, flags: GlobalFlags, out: (s: string) => void): void {
  if (flags.json) {
    out(JSON.stringify({ type: "result", ok: result.ok, dryRun: result.dryRun, plan: result.plan.items.map(({ component, container, action, reason }) => ({ component, container, action, reason })), ...(result.cluster ? { cluster: result.cluster } : {}), changes: result.changes, checks: result.checks }));
    return;
  }
  if (result.dryRun) {
    const changing = result.plan.items.filter((i) => i.action !== "keep" && i.action !== "adopt");
    const clusterRow = result.cluster ? [[result.cluster.action, `kind cluster ${result.cluster.name}`, result.cluster.action === "create" ? "does not exist" : "exists (kept; node wiring is checked on up)"]] : [];
    out(changing.length === 0 && result.cluster?.action !== "create" ? "nothing to do: every container matches the config" : "plan:");
    out(table(["ACTION", "CONTAINER", "REASON"], [...result.plan.items.map((i) => [i.action, i.container, i.reason]), ...clusterRow]));
    return;
  }
  const failed = result.checks.filter((c) => !c.ok);
  if (failed.length > 0) out(renderChecks(failed));
  out(result.changes.length === 0 ? "✓ up to date: nothing changed" : `✓ ${result.changes.length} change${result.changes.length > 1 ? "s" : ""}: ${result.changes.join("; ")}`);
  if (failed.length > 0) out(`✗ ${failed.length} check${failed.length > 1 ? "s" : ""} failed`);
}

function renderChecks(checks: Check[]): string {
  return checks
    .map((c) => (c.ok ? `✓ ${c.what}` : `✗ ${c.what}${c.detail ? `: ${c.detail}` : ""}${c.fix ? `\n    fix: ${c.fix}` : ""}`))
    .join("\n");
}

const SEVERITY_SYMBOL: Record<Finding["severity"], string> = { ok: "✓", error: "✗", warning: "!", info: "i" };

function renderFindings(findings: Finding[]): string {
  return findings
    .map((f) => {
      const lines = [`${SEVERITY_SYMBOL[f.severity]} ${f.what}`];
      if (f.severity !== "ok" && f.why) lines.push(`    why: ${f.why}`);
      if (f.severity !== "ok" && f.fix) lines.push(`    fix: ${f.fix}`);
      return lines.join("\n");
    })
    .join("\n");
}

async function confirmPurge(): Promise<void> {
  if (!process.stdin.isTTY) {
    throw new UserError("--purge deletes the data volumes; add --yes to confirm when not running interactively", { key: "--purge" });
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await rl.question("Delete the data volumes of every dify-local service (databases, objects, images)? [y/N] ");
  rl.close();
  if (!/^y(es)?$/i.test(answer.trim())) throw new UserError("aborted: nothing was deleted", { key: "--purge" });
}

function reportError(err: unknown, json: boolean, verbose: boolean): number {
  if (err instanceof CommanderError) {
    // Commander already printed its message (and help where relevant).
    if (err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help") return ExitCode.ok;
    return ExitCode.usage;
  }
  const known = err instanceof DifyLocalError;
  const code = known ? err.exitCode : ExitCode.failed;
  const message = err instanceof Error ? err.message : String(err);
  const hint = known ? err.hint : undefined;
  if (json) {
    process.stdout.write(`${JSON.stringify({ type: "error", exitCode: code, error: known ? err.name : "Error", message, ...(hint ? { hint } : {}), ...(err instanceof UserError && err.key ? { key: err.key } : {}) })}\n`);
  } else {
    process.stderr.write(`error: ${message}\n`);
    if (hint) process.stderr.write(`hint: ${hint}\n`);
  }
  if (verbose && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  else if (!known) process.stderr.write("(run with --verbose for the stack trace)\n");
  return code;
}
