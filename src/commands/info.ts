import type { Endpoint } from "../services/index.js";
import { Stack, type StackOptions } from "../stack/index.js";
import { MASK } from "../util/index.js";

export interface InfoOptions extends StackOptions {
  showSecrets?: boolean;
}

export interface ServiceInfo {
  service: string;
  /** Its container's name, or "external" for a service that runs elsewhere. */
  container: string;
  /** Where an external service is: host:port and TLS in words. */
  external?: { address: string; tls: string };
  endpoints: Endpoint[];
  /** Where its data lives, when its container exists. */
  data?: string;
  credentials: Array<{ label: string; value: string; masked: boolean }>;
}

export { MASK };

/**
 * Connection details as seen from the host and from the cluster. Credentials are the live ones,
 * read from the running containers as `values` reads them (the config's where there is no
 * container); secrets masked unless asked.
 */
export async function info(options: InfoOptions = {}): Promise<{ services: ServiceInfo[] }> {
  const stack = await Stack.open(options);
  const observed = await stack.observe();
  return {
    services: stack.enabled.map((service) => {
      const at = service.external(stack.config);
      const container = at ? "external" : service.settings(stack.config).container;
      const c = at ? undefined : observed.get(container);
      const data = stack.dataOf(service, c);
      return {
        service: service.name,
        container,
        ...(at ? { external: { address: at.address, tls: at.tls } } : {}),
        endpoints: service.endpoints(stack.config),
        ...(data ? { data } : {}),
        credentials: service.credentials(stack.config, c).map((cred) => {
          const masked = cred.secret && !options.showSecrets;
          return { label: cred.label, value: masked ? MASK : cred.value, masked };
        }),
      };
    }),
  };
}
