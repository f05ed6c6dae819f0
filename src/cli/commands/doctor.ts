import type { Command } from "commander";
import { loadRedacted } from "../load.js";
import type { Cli } from "../cli.js";
import { plural, renderFindings } from "../render.js";

export function registerDoctor(program: Command, cli: Cli): void {
  program
    .command("doctor")
    .description("diagnose the machine and the stack; each finding with why and the exact fix; exit 1 on an error")
    .option("--values <file>", "also check a Helm values.yaml against the live stack, key by key")
    .action(async (opts: { values?: string }, cmd: Command) => {
      const flags = cli.flags(cmd);
      const doctor = await loadRedacted(() => import("../../commands/doctor.js"), "doctor");
      const result = await doctor({ ...cli.base(flags), ...(opts.values ? { valuesFile: opts.values } : {}) });
      cli.result(flags, result, () => {
        cli.out(renderFindings(result.findings));
        cli.out(`\n${plural(result.errors, "error")}, ${plural(result.warnings, "warning")}`);
      });
      if (!result.ok) cli.exitCode = 1;
    });
}
