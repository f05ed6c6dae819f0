import type { Command } from "commander";
import { loadRedacted } from "../load.js";
import type { Cli } from "../cli.js";

export function registerInfo(program: Command, cli: Cli): void {
  program
    .command("info")
    .description("connection details from the host and from the cluster; secrets masked unless --show-secrets")
    .option("--show-secrets", "print passwords and keys")
    .action(async (opts: { showSecrets?: boolean }, cmd: Command) => {
      const flags = cli.flags(cmd);
      const info = await loadRedacted(() => import("../../commands/info.js"), "info");
      const result = await info({ ...cli.base(flags), showSecrets: opts.showSecrets ?? false });
      // --show-secrets is the one way to see them here: that output is printed as is.
      const reveal = opts.showSecrets ?? false;
      const out = (line: string) => (reveal ? cli.revealed(`${line}\n`) : cli.out(line));
      cli.result(
        flags,
        result,
        () => {
          for (const s of result.services) {
            out(s.external ? `${s.service} (external: ${s.external.address}, ${s.external.tls})` : `${s.service} (${s.container})`);
            for (const e of s.endpoints) out(`  ${e.label.padEnd(10)} host: ${e.host}   cluster: ${e.cluster}`);
            if (s.data) out(`  ${"data".padEnd(10)} ${s.data}`);
            for (const c of s.credentials) out(`  ${c.label.padEnd(10)} ${c.value}`);
          }
          if (result.services.some((s) => s.credentials.some((c) => c.masked))) out("(secrets masked; --show-secrets prints them)");
        },
        { reveal },
      );
    });
}
