import type { Command } from "commander";
import { OperationError, UserError } from "../../errors.js";
import { loadCommand } from "../load.js";
import type { Cli, GlobalFlags } from "../cli.js";
import { table } from "../render.js";

interface DirFlags {
  dir?: string;
}

const load = () => loadCommand(() => import("../../commands/index.js"));

function dirOf(opts: DirFlags): { dir?: string } {
  return opts.dir !== undefined ? { dir: opts.dir } : {};
}

export function registerSnapshot(program: Command, cli: Cli): void {
  const snapshot = program
    .command("snapshot")
    .description("save and restore every store together (PostgreSQL, Redis, MinIO, Qdrant, the registry, the chart secrets)");
  registerCreate(dirOption(snapshot.command("create [name]")), cli);
  registerList(dirOption(snapshot.command("ls")), cli);
  registerRestore(dirOption(snapshot.command("restore <name>")), cli);
  registerRemove(dirOption(snapshot.command("rm <name>")), cli);
  registerVerify(dirOption(snapshot.command("verify <name>")), cli);
}

function dirOption(c: Command): Command {
  return c.option("--dir <folder>", "the snapshot folder (default: the user's data directory, or $DIFY_LOCAL_DATA_DIR)");
}

function registerCreate(command: Command, cli: Cli): void {
  command
    .description("save every store into a new snapshot NAME (default: the time)")
    .option("--no-registry", "leave the registry's images out (plugin images can be rebuilt)")
    .option("--stop-app", "scale the deployments running in the cluster to zero while saving, and back afterwards")
    .option("--no-wait", "stop at once (exit 4) when another dify-local command changes the stack, instead of waiting")
    .action(async (name: string | undefined, opts: DirFlags & { registry: boolean; wait: boolean; stopApp?: boolean }, cmd: Command) => {
      const flags = cli.flags(cmd);
      const { snapshotCreate, formatBytes } = await load();
      const result = await snapshotCreate({
        ...cli.base(flags),
        sink: cli.sink(flags),
        ...dirOf(opts),
        ...(name ? { name } : {}),
        registry: opts.registry,
        stopApp: opts.stopApp ?? false,
        wait: opts.wait,
      });
      cli.closeProgress();
      cli.result(flags, result, () => {
        for (const w of result.warnings) cli.err(`warning: ${w}`);
        cli.out(`snapshot ${result.name}: ${formatBytes(result.size)} in ${result.folder}`);
        for (const p of result.parts) cli.out(`  ${p.service}: ${p.files} file${p.files === 1 ? "" : "s"}, ${formatBytes(p.size)}`);
      });
    });
}

function registerList(command: Command, cli: Cli): void {
  command
    .description("the snapshots: name, date, size, services, dify-local version, integrity")
    .action(async (opts: DirFlags, cmd: Command) => {
      const flags = cli.flags(cmd);
      const { snapshotList, formatBytes } = await load();
      const result = await snapshotList(dirOf(opts));
      cli.result(flags, result, () => {
        if (result.snapshots.length === 0) return cli.out(`no snapshots in ${result.dir}`);
        const rows = result.snapshots.map((s) => [
          s.name,
          s.createdAt ?? "-",
          s.size === undefined ? "-" : formatBytes(s.size),
          s.services.join(",") || "-",
          s.difyLocalVersion ?? "-",
          s.integrity === "ok" ? "ok" : `damaged: ${s.problems.join("; ")}`,
        ]);
        cli.out(table(["NAME", "CREATED", "SIZE", "SERVICES", "VERSION", "INTEGRITY"], rows));
      });
    });
}

function registerRemove(command: Command, cli: Cli): void {
  command.description("delete the snapshot NAME").action(async (name: string, opts: DirFlags, cmd: Command) => {
    const flags = cli.flags(cmd);
    const { snapshotRemove } = await load();
    const result = await snapshotRemove({ ...dirOf(opts), name });
    cli.result(flags, result, () => cli.out(`deleted snapshot ${result.name} (${result.folder})`));
  });
}

function registerVerify(command: Command, cli: Cli): void {
  command
    .description("check the snapshot NAME without restoring it: its format, every file's size and sha256, and its tenants' key pairs")
    .action(async (name: string, opts: DirFlags, cmd: Command) => {
      const flags = cli.flags(cmd);
      const { snapshotVerify } = await load();
      const result = await snapshotVerify({ ...cli.base(flags), ...dirOf(opts), name });
      if (!result.ok) cli.exitCode = 1;
      cli.result(flags, result, () => {
        for (const p of result.problems) cli.out(`damaged: ${p.file}: ${p.problem}`);
        for (const f of result.keyPairs)
          cli.out(
            `${f.severity === "error" ? "FAIL" : f.severity} ${f.what}${f.why && f.severity !== "ok" ? `: ${f.why}` : ""}${f.fix ? `\n  fix: ${f.fix}` : ""}`,
          );
        if (result.ok) cli.out(`snapshot ${name} is intact`);
      });
    });
}

type RestoreFlags = DirFlags & { yes?: boolean; backup: boolean; registry: boolean; wait: boolean };

function registerRestore(command: Command, cli: Cli): void {
  command
    .description("replace the data of every store with the snapshot NAME's (asks first; --yes when not interactive)")
    .option("-y, --yes", "do not ask before replacing the data")
    .option("--no-backup", "do not take an automatic snapshot of the current state first")
    .option("--no-registry", "leave the registry's images as they are")
    .option("--no-wait", "stop at once (exit 4) when another dify-local command changes the stack, instead of waiting")
    .action(async (name: string, opts: RestoreFlags, cmd: Command) => {
      const flags = cli.flags(cmd);
      const mod = await load();
      // A missing or stopped store is made first, by `up` (a restore onto a new machine).
      const prepare = async (): Promise<void> => {
        const made = await mod.up({ ...cli.base(flags), sink: cli.sink(flags), wait: opts.wait });
        if (!made.ok)
          throw new OperationError("`dify-local up` did not bring every store up; nothing was restored", { hint: "dify-local doctor" });
      };
      const options = { ...cli.base(flags), ...dirOf(opts), name, backup: opts.backup, registry: opts.registry, wait: opts.wait, prepare };
      if (!opts.yes) await confirm(cli, flags, await mod.snapshotRestorePlan(options));
      const result = await mod.snapshotRestore({ ...options, sink: cli.sink(flags), yes: true });
      cli.closeProgress();
      if (!result.ok) cli.exitCode = 1;
      cli.result(flags, result, () => {
        if (result.backup)
          cli.out(`took snapshot ${result.backup} of the state before (dify-local snapshot restore ${result.backup} goes back)`);
        for (const r of result.restored) cli.out(r);
        for (const n of result.notes) cli.out(`note: ${n}`);
        for (const c of result.checks.filter((x) => !x.ok)) cli.out(`FAIL ${c.what}: ${c.detail ?? ""}${c.fix ? ` (fix: ${c.fix})` : ""}`);
        for (const f of result.keyPairs) cli.out(`${f.severity === "error" ? "FAIL" : "ok"} ${f.what}${f.fix ? `\n  fix: ${f.fix}` : ""}`);
        cli.out(result.ok ? `restored snapshot ${name}; verify passed` : `restored snapshot ${name}, but verify found problems (above)`);
      });
    });
}

/** On a terminal: lists what the restore replaces and asks; elsewhere --yes is required. */
async function confirm(
  cli: Cli,
  flags: GlobalFlags,
  plan: { name: string; replaces: string[]; configChanged: boolean; notes: string[] },
): Promise<void> {
  const what = plan.replaces.join("; ");
  if (!process.stdin.isTTY || flags.json) {
    throw new UserError(`restoring ${plan.name} replaces ${what}; add --yes to confirm when not running interactively`, { key: "--yes" });
  }
  cli.err(`Restoring snapshot ${plan.name} replaces:`);
  for (const r of plan.replaces) cli.err(`  - ${r}`);
  if (plan.configChanged) cli.err("  (the snapshot was taken with other settings; its data goes into the current containers)");
  for (const n of plan.notes) cli.err(`note: ${n}`);
  const { askYes } = await import("../ask.js");
  if (!(await askYes("Replace them?"))) throw new UserError("aborted: nothing was changed", { key: "--yes" });
}
