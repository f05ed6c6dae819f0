import { kind, kindNodes, KubeApi } from "../cluster/index.js";
import type { Config } from "../config/index.js";
import { LABELS, type Runtime } from "../runtime/index.js";
import { enabledComponents, probeHost } from "../services/index.js";
import { openContext, type CommandOptions } from "./context.js";

export interface ServiceStatus {
  service: string;
  container: string;
  /** running, exited, restarting, created, paused, missing. */
  state: string;
  /** "dify-local" when made by it, "adopted" when made by hand under the seed's name. */
  owner: "dify-local" | "adopted" | "none";
  endpoint: string;
  /** The protocol probe's answer right now. */
  health: "healthy" | "unhealthy" | "unknown";
  detail?: string;
}

export interface StatusResult {
  services: ServiceStatus[];
}

/** A snapshot of every service: container state and one protocol round trip. */
export async function status(options: CommandOptions = {}): Promise<StatusResult> {
  const ctx = await openContext(options);
  const { config, runtime } = ctx;
  const components = enabledComponents(config);
  const observed = await runtime.observe(components.map((c) => config[c.name].container));
  const services = await Promise.all(
    components.map(async (component): Promise<ServiceStatus> => {
      const name = config[component.name].container;
      const c = observed.get(name);
      const base = {
        service: component.name,
        container: name,
        state: c?.state ?? "missing",
        owner: !c ? ("none" as const) : c.labels[LABELS.managed] === "true" ? ("dify-local" as const) : ("adopted" as const),
        endpoint: component.endpoints(config)[0]?.host ?? "",
      };
      if (!c?.running) return { ...base, health: "unknown" };
      try {
        await component.probe({ config, runtime, host: probeHost(config), container: c });
        return { ...base, health: "healthy" };
      } catch (err) {
        return { ...base, health: "unhealthy", detail: err instanceof Error ? err.message : String(err) };
      }
    }),
  );
  if (config.cluster.enabled) services.push(await clusterStatus(ctx.runtime, config));
  return { services };
}

/** The cluster as one more row: node containers running, and nodes Ready through the API. */
async function clusterStatus(runtime: Runtime, config: Config): Promise<ServiceStatus> {
  const name = config.cluster.name;
  const nodes = await kindNodes(runtime, name);
  const running = nodes.filter((n) => n.running).length;
  const base = {
    service: "cluster",
    container: `${name}-control-plane`,
    state: nodes.length === 0 ? "missing" : running === nodes.length ? "running" : `${running}/${nodes.length} nodes running`,
    owner: nodes.length === 0 ? ("none" as const) : ("dify-local" as const),
    endpoint: `kind-${name}`,
  };
  if (running === 0) return { ...base, health: "unknown" };
  try {
    const ready = await (await KubeApi.open(await kind.kubeconfig(name), `kind-${name}`)).nodes();
    const notReady = ready.filter((n) => !n.ready).map((n) => n.name);
    return notReady.length === 0 && ready.length > 0
      ? { ...base, health: "healthy", detail: `${ready.length} nodes Ready` }
      : { ...base, health: "unhealthy", detail: `not Ready: ${notReady.join(", ") || "no nodes"}` };
  } catch (err) {
    return { ...base, health: "unhealthy", detail: err instanceof Error ? err.message : String(err) };
  }
}
