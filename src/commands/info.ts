import { enabledComponents, type Endpoint } from "../services/index.js";
import { openContext, type CommandOptions } from "./context.js";

export interface InfoOptions extends CommandOptions {
  showSecrets?: boolean;
}

export interface ServiceInfo {
  service: string;
  container: string;
  endpoints: Endpoint[];
  credentials: Array<{ label: string; value: string; masked: boolean }>;
}

export const MASK = "********";

/** Connection details as seen from the host and from the cluster; secrets masked unless asked. */
export async function info(options: InfoOptions = {}): Promise<{ services: ServiceInfo[] }> {
  const ctx = await openContext(options);
  const { config, runtime } = ctx;
  const components = enabledComponents(config);
  const observed = await runtime.observe(components.map((c) => config[c.name].container));
  return {
    services: components.map((component) => {
      const container = config[component.name].container;
      return {
        service: component.name,
        container,
        endpoints: component.endpoints(config),
        credentials: component.credentials(config, observed.get(container)).map((cred) => {
          const masked = cred.secret && !options.showSecrets;
          return { label: cred.label, value: masked ? MASK : cred.value, masked };
        }),
      };
    }),
  };
}
