import type { Command } from "commander";
import { loadCommand, loadRedacted } from "../load.js";
import type { Cli } from "../cli.js";
import { table } from "../render.js";

export function registerHosts(program: Command, cli: Cli): void {
  program
    .command("hosts")
    .description("print the /etc/hosts line for the *.dify.local names; --apply writes it in a marked block")
    .option("--apply", "add or update the dify-local block in /etc/hosts (needs the rights to)")
    .option("--remove", "take the dify-local block out of /etc/hosts")
    .action(async (opts: { apply?: boolean; remove?: boolean }, cmd: Command) => {
      const flags = cli.flags(cmd);
      const { hosts } = await loadCommand(() => import("../../commands/hosts.js"));
      const result = await hosts({ apply: opts.apply ?? false, remove: opts.remove ?? false });
      cli.result(flags, result, () => {
        if (!opts.apply && !opts.remove) cli.out(result.line);
        else if (!result.changed) cli.out(`${result.file} already up to date`);
        else cli.out(opts.apply ? `added the dify-local block to ${result.file}` : `removed the dify-local block from ${result.file}`);
      });
    });
}

export function registerRegistry(program: Command, cli: Cli): void {
  const registry = program.command("registry").description("the image registry (the local one, or registry.external)");
  registry
    .command("ls")
    .description(
      "repositories and their tags in the local registry, or an external plain registry's under its prefix (ECR: aws ecr describe-images)",
    )
    .action(async (_opts: unknown, cmd: Command) => {
      const flags = cli.flags(cmd);
      const registryList = await loadRedacted(() => import("../../commands/registry.js"), "registryList");
      const result = await registryList(cli.base(flags));
      cli.result(flags, result, () => {
        if (result.repositories.length === 0) cli.out(`no repositories in ${result.registry}`);
        else
          cli.out(
            table(
              ["REPOSITORY", "TAGS"],
              result.repositories.map((r) => [r.name, r.tags.join(", ")]),
            ),
          );
      });
    });
}
