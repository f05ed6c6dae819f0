import type { Command } from "commander";
import type { ValuesResult } from "../../commands/index.js";
import { loadRedacted } from "../load.js";
import type { Cli } from "../cli.js";

interface ValuesFlags {
  chart?: string;
  format?: string;
  output?: string;
  merge?: string;
}

export function registerValues(program: Command, cli: Cli): void {
  program
    .command("values")
    .description("Helm values (infrastructure part) with the live credentials of the running stack")
    .option("--chart <line>", "chart line: 3.7 or 3.9 (default: the --merge file's, else 3.9)")
    .option("--format <format>", "yaml (Helm values) or env (community edition .env names)")
    .option("-o, --output <file>", "write to FILE (mode 0600) instead of stdout")
    .option(
      "--merge <file>",
      "update only these keys in an existing values.yaml, keeping every other key and comment (backup FILE.bak; FILE.bak.N when earlier backups exist)",
    )
    .action(async (opts: ValuesFlags, cmd: Command) => {
      const flags = cli.flags(cmd);
      const values = await loadRedacted(() => import("../../commands/values.js"), "values");
      const result = await values({
        ...cli.base(flags),
        ...(opts.chart !== undefined ? { chart: opts.chart } : {}),
        ...(opts.format !== undefined ? { format: opts.format } : {}),
        ...(opts.output !== undefined ? { output: opts.output } : {}),
        ...(opts.merge !== undefined ? { merge: opts.merge } : {}),
      });
      for (const w of result.warnings) cli.err(`warning: ${w}`);
      if (result.cluster)
        cli.err(
          `for the existing cluster: helm upgrade --install ... -f <these values> --namespace ${result.cluster.namespace} --kube-context ${result.cluster.context}`,
        );
      if (result.secrets?.created) cli.err(`generated chart secrets in ${result.secrets.file} (0600); later renders reuse them`);
      // The rendered text is what the user asked for, secrets included (stdout only; -o writes a 0600 file).
      cli.result(flags, result, () => renderValues(cli, result), { reveal: result.text !== undefined });
    });
}

function renderValues(cli: Cli, result: ValuesResult): void {
  if (result.text !== undefined) cli.revealed(result.text);
  else if (result.written) cli.out(`wrote ${result.written} (mode 0600)`);
  else if (result.merged) {
    const m = result.merged;
    cli.out(
      m.changed.length === 0
        ? `${m.file} already up to date`
        : `merged ${m.changed.length} keys into ${m.file}${m.backup ? ` (backup ${m.backup})` : ""}`,
    );
    if (m.layout === "rewritten") cli.err(`note: ${m.file} was re-serialised as a whole; compare it with ${m.backup ?? "the backup"}`);
  }
}
