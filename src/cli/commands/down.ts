import type { Command } from "commander";
import { UserError } from "../../errors.js";
import { connectFirst, loadRedacted } from "../load.js";
import type { Cli } from "../cli.js";

export function registerDown(program: Command, cli: Cli): void {
  program
    .command("down")
    .description("remove the containers; data volumes stay unless --purge")
    .option("--purge", "also delete the data volumes (asks first; --yes when not interactive)")
    .option("-y, --yes", "do not ask before --purge deletes data")
    .option("--keep-cluster", "leave the kind cluster running")
    .option("--delete-cluster", "delete the kind cluster even when dify-local did not create it")
    .option("--no-wait", "stop at once (exit 4) when another dify-local up or down runs on this engine and config, instead of waiting")
    .action(
      async (opts: { purge?: boolean; yes?: boolean; keepCluster?: boolean; deleteCluster?: boolean; wait: boolean }, cmd: Command) => {
        const flags = cli.flags(cmd);
        if (opts.purge && !opts.yes) await confirmPurge();
        const connecting = await connectFirst(true);
        const down = await loadRedacted(() => import("../../commands/down.js"), "down");
        const result = await down({
          ...cli.base(flags),
          connecting,
          sink: cli.sink(flags),
          signal: cli.interruptible(),
          purge: opts.purge ?? false,
          keepCluster: opts.keepCluster ?? false,
          deleteCluster: opts.deleteCluster ?? false,
          wait: opts.wait,
          yes: opts.yes ?? false,
        });
        cli.closeProgress();
        cli.result(flags, result, () => {
          if (result.clusterDeleted) cli.out(`deleted kind cluster ${result.clusterDeleted}`);
          if (result.clusterLeftAlone)
            cli.out(
              `left kind cluster ${result.clusterLeftAlone} running: dify-local did not create it (dify-local down --delete-cluster deletes it)`,
            );
          cli.out(result.removed.length ? `removed ${result.removed.join(", ")}` : "no dify-local containers to remove");
          if (result.leftAlone.length) cli.out(`left alone (made outside dify-local): ${result.leftAlone.join(", ")}`);
          if (result.namespaceLeftAlone) cli.out(`left namespace ${result.namespaceLeftAlone} as it is (down never deletes it)`);
          if (result.probeJobsRemoved?.length) cli.out(`deleted leftover probe jobs ${result.probeJobsRemoved.join(", ")}`);
          if (result.volumesRemoved.length) cli.out(`deleted volumes ${result.volumesRemoved.join(", ")}`);
          if (result.volumesKept.length) cli.out(`kept volumes ${result.volumesKept.join(", ")} (dify-local down --purge deletes them)`);
          for (const e of result.externalLeftAlone) cli.out(`left ${e} alone: external, dify-local never changes it`);
          if (result.volumesLeftAlone.length)
            cli.out(`kept volumes made outside dify-local: ${result.volumesLeftAlone.join(", ")} (--purge never deletes them)`);
        });
      },
    );
}

async function confirmPurge(): Promise<void> {
  if (!process.stdin.isTTY) {
    throw new UserError("--purge deletes the data volumes; add --yes to confirm when not running interactively", { key: "--purge" });
  }
  const { askYes } = await import("../ask.js");
  if (!(await askYes("Delete the data volumes of every dify-local service (databases, objects, images)?")))
    throw new UserError("aborted: nothing was deleted", { key: "--purge" });
}
