import { clusterChecks } from "../cluster/index.js";
import type { ObservedContainer } from "../runtime/index.js";
import { enabledComponents, probeHost, type Check } from "../services/index.js";
import { openContext, type CommandOptions, type Context } from "./context.js";

export interface VerifyResult {
  checks: Check[];
  ok: boolean;
}

/** Every verification of the seed as a named check. Library form of `dify-local verify`. */
export async function verify(options: CommandOptions = {}): Promise<VerifyResult> {
  const ctx = await openContext(options);
  const checks = await runChecks(ctx);
  if (ctx.config.cluster.enabled) checks.push(...reportChecks(ctx, await clusterChecks(ctx.runtime, ctx.config)));
  return { checks, ok: checks.every((c) => c.ok) };
}

/** Runs the checks of every enabled component against what Docker has now, emitting one event per check. */
export async function runChecks(ctx: Context, observed?: ReadonlyMap<string, ObservedContainer>): Promise<Check[]> {
  const components = enabledComponents(ctx.config);
  const seen = observed ?? (await ctx.runtime.observe(components.map((c) => ctx.config[c.name].container)));
  const perComponent = await Promise.all(
    components.map(async (component) => {
      const name = ctx.config[component.name].container;
      const container = seen.get(name);
      const running: Check = container?.running
        ? { id: `${component.name}.container`, ok: true, what: `container ${name} is running` }
        : {
            id: `${component.name}.container`,
            ok: false,
            what: `container ${name} is running`,
            detail: container ? `it is ${container.state}` : "it does not exist",
            fix: "run `dify-local up`",
          };
      if (!running.ok) return [running];
      const rest = await component.checks({ config: ctx.config, runtime: ctx.runtime, host: probeHost(ctx.config), container });
      return [running, ...rest];
    }),
  );
  return reportChecks(ctx, perComponent.flat());
}

/** Emits one event per check and passes the checks on. */
export function reportChecks(ctx: Pick<Context, "sink">, checks: Check[]): Check[] {
  for (const c of checks) {
    ctx.sink.emit({ step: `check ${c.id}`, status: c.ok ? "ok" : "fail", detail: c.ok ? c.what : `${c.what}: ${c.detail ?? "failed"}` });
  }
  return checks;
}

