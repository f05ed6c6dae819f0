import type { Command } from "commander";
import { connectFirst, loadRedacted } from "../load.js";
import type { Cli } from "../cli.js";
import { renderChecks, table } from "../render.js";

export function registerStatus(program: Command, cli: Cli): void {
  program
    .command("status")
    .description("a table of service, container, state, endpoint, health and where the data lives")
    .action(async (_opts: unknown, cmd: Command) => {
      const flags = cli.flags(cmd);
      const connecting = await connectFirst(false);
      const status = await loadRedacted(() => import("../../commands/status.js"), "status");
      const result = await status({ ...cli.base(flags), connecting });
      cli.result(flags, result, () =>
        cli.out(
          table(
            ["SERVICE", "CONTAINER", "STATE", "ENDPOINT", "HEALTH", "DATA"],
            result.services.map((s) => [
              s.service,
              s.container + (s.owner === "adopted" ? " (adopted)" : ""),
              s.state,
              s.endpoint,
              s.health,
              s.data ?? "",
            ]),
          ),
        ),
      );
    });
}

export function registerVerify(program: Command, cli: Cli): void {
  program
    .command("verify")
    .description("run every check of the seed; exit 1 when one fails")
    .option("-y, --yes", "with cluster.context: run the probe Job even in a context whose name suggests production")
    .action(async (opts: { yes?: boolean }, cmd: Command) => {
      const flags = cli.flags(cmd);
      const connecting = await connectFirst(false);
      const verify = await loadRedacted(() => import("../../commands/verify.js"), "verify");
      const result = await verify({ ...cli.base(flags), connecting, yes: opts.yes ?? false });
      cli.result(flags, result, () => {
        const c = result.cluster;
        if (c) cli.out(`cluster: context ${c.context} at ${c.server} (namespace ${c.namespace})`);
        cli.out(renderChecks(result.checks));
      });
      if (!result.ok) cli.exitCode = 1;
    });
}
