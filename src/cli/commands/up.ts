import { Option, type Command } from "commander";
import type { UpResult } from "../../commands/index.js";
import { parsePull } from "../../engine/pull-mode.js";
import { connectFirst, loadRedacted } from "../load.js";
import type { Cli, GlobalFlags } from "../cli.js";
import { plural, renderChecks, table } from "../render.js";

export function registerUp(program: Command, cli: Cli): void {
  program
    .command("up")
    .description("create, start and initialise every service; a rerun changes nothing")
    .option("--dry-run", "print the plan and change nothing")
    .addOption(new Option("--pull <mode>", "when to pull images: missing | always").default("missing"))
    .option("--recreate", "replace containers with the seed's names that were made by hand and differ from the config")
    .option(
      "--generate-passwords",
      "random passwords and keys instead of the seed's (as credentials: generate), kept in the user's config directory; switches an existing stack in place",
    )
    .option(
      "--patch-containerd",
      "on a cluster whose nodes' containerd ignores /etc/containerd/certs.d (made elsewhere, node image before kind v0.27): add its config_path and restart containerd one node at a time, waiting for each node to be Ready",
    )
    .option("--no-wait", "stop at once (exit 4) when another dify-local up or down runs on this engine and config, instead of waiting")
    .option("-y, --yes", "with cluster.context: go on in a context whose name suggests production (prod, production, prd)")
    .action(
      async (
        opts: {
          dryRun?: boolean;
          pull: string;
          recreate?: boolean;
          generatePasswords?: boolean;
          patchContainerd?: boolean;
          wait: boolean;
          yes?: boolean;
        },
        cmd: Command,
      ) => {
        const flags = cli.flags(cmd);
        // Checked before the library is loaded: a bad flag answers at once.
        const pull = parsePull(opts.pull);
        const connecting = await connectFirst(true);
        const up = await loadRedacted(() => import("../../commands/up.js"), "up");
        const result = await up({
          ...cli.base(flags),
          connecting,
          sink: cli.sink(flags),
          signal: cli.interruptible(),
          dryRun: opts.dryRun ?? false,
          pull,
          recreate: opts.recreate ?? false,
          generatePasswords: opts.generatePasswords ?? false,
          patchContainerd: opts.patchContainerd ?? false,
          wait: opts.wait,
          yes: opts.yes ?? false,
        });
        cli.closeProgress();
        renderUp(cli, flags, result);
        if (!result.ok) cli.exitCode = 1;
      },
    );
}

function renderUp(cli: Cli, flags: GlobalFlags, result: UpResult): void {
  const plan = result.plan.items.map(({ component, container, action, reason, data, warnings }) => ({
    component,
    container,
    action,
    reason,
    data,
    warnings,
  }));
  const json = {
    ok: result.ok,
    dryRun: result.dryRun,
    plan,
    ...(result.cluster ? { cluster: result.cluster } : {}),
    ...(result.namespace ? { namespace: result.namespace } : {}),
    external: result.external,
    changes: result.changes,
    warnings: result.warnings,
    checks: result.checks,
  };
  cli.result(flags, json, () => (result.dryRun ? renderPlan(cli, result) : renderOutcome(cli, result)));
}

function renderPlan(cli: Cli, result: UpResult): void {
  const changing = result.plan.items.filter((i) => i.action !== "keep" && i.action !== "adopt");
  const cluster = result.cluster;
  const ns = result.namespace;
  const clusterRow = cluster
    ? [
        [
          cluster.action,
          `kind cluster ${cluster.name}`,
          cluster.action === "create" ? "does not exist" : "exists (kept; node wiring is checked on up)",
        ],
      ]
    : ns
      ? [[ns.action, `namespace ${ns.name} (context ${ns.context})`, ns.action === "create" ? "does not exist" : "exists (kept as it is)"]]
      : [];
  const creates = cluster?.action === "create" || ns?.action === "create";
  cli.out(changing.length === 0 && !creates ? "nothing to do: every container matches the config" : "plan:");
  const dataOf = (d: { now: string | undefined; after: string }) =>
    d.now === undefined ? d.after : d.now === d.after ? `${d.now} (kept)` : `${d.now} -> ${d.after}`;
  const rows = result.plan.items.map((i) => [i.action, i.container, dataOf(i.data), i.reason]);
  cli.out(table(["ACTION", "CONTAINER", "DATA", "REASON"], [...rows, ...clusterRow.map(([a, c, r]) => [a ?? "", c ?? "", "", r ?? ""])]));
  for (const w of result.plan.items.flatMap((i) => i.warnings)) cli.out(`! ${w}`);
  for (const e of result.external)
    cli.out(
      `external: ${e.service} at ${e.address} (${e.tls}): no container; up checks it and creates missing databases there, never deletes`,
    );
  for (const w of result.warnings) cli.out(`! ${w}`);
}

function renderOutcome(cli: Cli, result: UpResult): void {
  const failed = result.checks.filter((c) => !c.ok);
  if (failed.length > 0) cli.out(renderChecks(failed));
  for (const w of result.warnings) cli.out(`! ${w}`);
  cli.out(
    result.changes.length === 0
      ? "✓ up to date: nothing changed"
      : `✓ ${plural(result.changes.length, "change")}: ${result.changes.join("; ")}`,
  );
  if (failed.length > 0) cli.out(`✗ ${plural(failed.length, "check")} failed`);
}
