import { pipeline } from "node:stream/promises";
import type { Command } from "commander";
import { UserError } from "../../errors.js";
import { loadRedacted } from "../load.js";
import type { Cli, GlobalFlags } from "../cli.js";
import type { EventSink } from "../../engine/events.js";

export function registerStorage(program: Command, cli: Cli): void {
  // A byte bar for people on a terminal; scripts (--json, or stderr not a terminal) get only the result.
  const progress = (flags: GlobalFlags): { sink?: EventSink } => (flags.json || !process.stderr.isTTY ? {} : { sink: cli.sink(flags) });
  const storage = program
    .command("storage")
    .description("objects in the MinIO bucket (or minio.external's), through S3 with the live (or external) credentials");
  storage
    .command("ls [prefix]")
    .description("every object, recursively (the seed's mc ls --recursive); only keys under PREFIX when given; --json: one object per line")
    .action(async (prefix: string | undefined, _opts: unknown, cmd: Command) => {
      const flags = cli.flags(cmd);
      const storageObjects = await loadRedacted(() => import("../../commands/storage.js"), "storageObjects");
      const { bucket, objects } = await storageObjects({ ...cli.base(flags), ...(prefix ? { prefix } : {}) });
      // Printed as they come, one page in memory: a bucket of millions lists in constant memory.
      // Fixed-width columns first and the key last (as `mc ls`), so no row waits for the widest.
      let count = 0;
      for await (const o of objects) {
        if (flags.json) cli.out(JSON.stringify({ type: "object", bucket, ...o }));
        else {
          if (count === 0) cli.out(`${"LAST MODIFIED".padEnd(24)}  ${"SIZE".padStart(12)}  KEY`);
          cli.out(`${o.lastModified.padEnd(24)}  ${String(o.size).padStart(12)}  ${o.key}`);
        }
        count++;
      }
      if (count === 0 && !flags.json) cli.out(`no objects in bucket ${bucket}${prefix ? ` under ${prefix}` : ""}`);
    });
  storage
    .command("cp <local> <key>")
    .description('upload a local file as KEY (the seed\'s "correct way": never copy into the data directory)')
    .action(async (local: string, key: string, _opts: unknown, cmd: Command) => {
      const flags = cli.flags(cmd);
      const storageCopy = await loadRedacted(() => import("../../commands/storage.js"), "storageCopy");
      const result = await storageCopy({ ...cli.base(flags), ...progress(flags), local, key });
      cli.closeProgress();
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
      const storageGet = await loadRedacted(() => import("../../commands/storage.js"), "storageGet");
      if (local === undefined) {
        const { body } = await storageGet({ ...cli.base(flags), ...progress(flags), key });
        await toStdout(body);
        cli.closeProgress();
        return;
      }
      const result = await storageGet({ ...cli.base(flags), ...progress(flags), key, local, force: opts.force ?? false });
      cli.closeProgress();
      cli.result(flags, result, () => cli.out(`wrote ${result.written} (${result.size} bytes)`));
    });
}

/** Streams to stdout with its backpressure; a reader that stops early (`| head`) ends the download quietly. */
async function toStdout(body: NodeJS.ReadableStream & { destroy(): void }): Promise<void> {
  try {
    await pipeline(body, process.stdout);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EPIPE") return body.destroy();
    throw err;
  }
}
