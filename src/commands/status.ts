import { LABELS } from "../runtime/index.js";
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
  return { services };
}
