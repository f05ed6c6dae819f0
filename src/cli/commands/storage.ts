import type { Command } from "commander";
import { UserError } from "../../errors.js";
import { loadCommand } from "../load.js";
import type { Cli } from "../cli.js";
import { table } from "../render.js";

export function registerStorage(program: Command, cli: Cli): void {
  const storage = program.command("storage").description("objects in the MinIO bucket, through S3 with the live credentials");
  storage
    .command("ls [prefix]")
    .description("every object, recursively (the seed's mc ls --recursive); only keys under PREFIX when given")
    .action(async (prefix: string | undefined, _opts: unknown, cmd: Command) => {
      const flags = cli.flags(cmd);
      const { storageList } = await loadCommand(() => import("../../commands/index.js"));
      const result = await storageList({ ...cli.base(flags), ...(prefix ? { prefix } : {}) });
      cli.result(flags, result, () => {
        if (result.objects.length === 0) cli.out(`no objects in bucket ${result.bucket}${prefix ? ` under ${prefix}` : ""}`);
        else
          cli.out(
            table(
              ["KEY", "SIZE", "LAST MODIFIED"],
              result.objects.map((o) => [o.key, String(o.size), o.lastModified]),
            ),
          );
      });
    });
  storage
    .command("cp <local> <key>")
    .description('upload a local file as KEY (the seed\'s "correct way": never copy into the data directory)')
    .action(async (local: string, key: string, _opts: unknown, cmd: Command) => {
      const flags = cli.flags(cmd);
      const { storageCopy } = await loadCommand(() => import("../../commands/index.js"));
      const result = await storageCopy({ ...cli.base(flags), local, key });
      cli.result(flags, result, () => cli.out(`uploaded ${local} to ${result.bucket}/${result.key} (${result.size} bytes)`));
    });
  storage
    .command("get <key> [local]")
    .description("download KEY to LOCAL, or to stdout when LOCAL is omitted")
    .option("--force", "overwrite an existing local file")
    .action(async (key: string, local: string | undefined, opts: { force?: boolean }, cmd: Command) => {
      const flags = cli.flags(cmd);
      if (local === undefined && flags.json)
        throw new UserError("storage get writes the object's bytes to stdout without LOCAL; --json needs a LOCAL file", {
          key: "--json",
        });
      const { storageGet } = await loadCommand(() => import("../../commands/index.js"));
      if (local === undefined) {
        process.stdout.write(await storageGet({ ...cli.base(flags), key }));
        return;
      }
      const result = await storageGet({ ...cli.base(flags), key, local, force: opts.force ?? false });
      cli.result(flags, result, () => cli.out(`wrote ${result.written} (${result.size} bytes)`));
    });
}
