import type { Config } from "../config/index.js";
import { composeValues, globalValues, renderEnv, type ChartVersion, type HelmSecrets, type ValuesTree } from "../helm/index.js";
import type { ObservedContainer } from "../runtime/index.js";
import { clusterHost, type FactSource, type Service } from "../services/index.js";

/** The services of a stack, its configuration and the containers Docker has: what values are rendered from. */
export interface LiveStack {
  services: readonly Service[];
  config: Config;
  observed: ReadonlyMap<string, ObservedContainer>;
}

function containerOf(live: LiveStack, service: Service): ObservedContainer | undefined {
  return live.observed.get(service.settings(live.config).container);
}

/**
 * The services' keys of the Helm values, with the live credentials of their containers (the
 * config's where there is no container): what the stack itself decides. Pure.
 */
export function serviceValues(live: LiveStack, chart: ChartVersion): ValuesTree {
  return composeValues(
    live.services.map((s) => s.values(live.config, containerOf(live, s), { chart, host: clusterHost(live.config) }) ?? {}),
  );
}

/**
 * The infrastructure part of the Dify EE Helm values: the stack-wide keys (domains, ingress,
 * generated secrets) and every service's keys. Pure: same input, same output.
 */
export function renderValues(live: LiveStack, options: { chart: ChartVersion; secrets: HelmSecrets }): ValuesTree {
  return composeValues([
    globalValues(options.secrets, options.chart, live.config.cluster.ingress.className),
    serviceValues(live, options.chart),
  ]);
}

/** The same facts as a community edition `.env`. Pure. */
export function renderStackEnv(live: LiveStack): string {
  return renderEnv(live.services.flatMap((s) => s.env(live.config, containerOf(live, s), clusterHost(live.config))));
}

/** Where each service's credentials were read, for the services that have credentials. */
export function credentialSources(live: LiveStack): Record<string, FactSource> {
  const out: Record<string, FactSource> = {};
  for (const s of live.services) {
    const source = s.credentialSource(live.config, containerOf(live, s));
    if (source) out[s.name] = source;
  }
  return out;
}

/** What the user should know about values rendered now: a service disabled, missing, stopped, or read from the config. */
export function valuesWarnings(live: LiveStack): string[] {
  const out: string[] = [];
  for (const s of live.services) {
    const container = containerOf(live, s);
    const source = s.credentialSource(live.config, container);
    // An external service's values are its section's, verified by `up` and `verify`.
    if (source === undefined || source === "external") continue;
    if (!s.settings(live.config).enabled)
      out.push(
        `${s.name}: disabled in the config; the values point at port ${s.hostPorts(live.config)[0]?.port ?? "?"} with the configured credentials`,
      );
    else if (!container) out.push(`${s.name}: no container; its credentials come from the config (run \`dify-local up\` first)`);
    else if (source === "config") out.push(`${s.name}: the container does not show its credentials; they come from the config`);
    else if (!container.running) out.push(`${s.name}: the container is stopped; start it with \`dify-local up\``);
  }
  return out;
}
