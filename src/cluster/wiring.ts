import type { Config } from "../config/index.js";
import type { LabelledContainer, PortBinding, Runtime } from "../runtime/index.js";
import { CERTS_D, HOST_ALIAS, corefileWithHost, etcHostsWithAlias, hostsToml, localRegistryHosting, registryHosts } from "./files.js";
import type { KubeApi } from "./kube.js";

/** kind's own labels on its node containers, and its network. */
export const KIND_LABELS = { cluster: "io.x-k8s.kind.cluster", role: "io.x-k8s.kind.role" } as const;
export const KIND_NETWORK = "kind";

/**
 * How pods and nodes reach the host: Docker Desktop resolves host.docker.internal by itself;
 * a native Linux engine does not, so dify-local maps it to the `kind` network's gateway.
 */
export type HostAlias = { mode: "desktop" } | { mode: "gateway"; ip: string };

/**
 * Decides the host alias mode. On Linux the `kind` network is created first when missing (kind
 * uses an existing network of that name as is), so its gateway is known before any service
 * container is made; with `create: false` (dry run) a missing network gives undefined.
 */
export async function resolveHostAlias(runtime: Runtime, options: { create: boolean }): Promise<HostAlias | undefined> {
  if (await runtime.isDockerDesktop()) return { mode: "desktop" };
  if (options.create) await runtime.ensureNetwork(KIND_NETWORK);
  const ip = await runtime.networkGateway(KIND_NETWORK);
  if (!ip) {
    if (!options.create) return undefined;
    throw new Error(`the ${KIND_NETWORK} network has no IPv4 gateway`);
  }
  return { mode: "gateway", ip };
}

/** On Linux, host ports are also published on the gateway so pods reach them without 0.0.0.0. */
export function gatewayBindings(ports: readonly PortBinding[], alias: HostAlias): PortBinding[] {
  if (alias.mode !== "gateway") return [...ports];
  const extra = ports.filter((p) => p.hostIp !== "0.0.0.0" && p.hostIp !== alias.ip).map((p) => ({ ...p, hostIp: alias.ip }));
  return [...ports, ...extra];
}

/**
 * Writes what one node needs to pull from the local registry: hosts.toml for each registry name
 * (read first through the archive API, written by exec only when different) and, on Linux, the
 * host alias in /etc/hosts. Returns the changes made.
 */
export async function wireNode(runtime: Runtime, node: LabelledContainer, config: Config, alias: HostAlias): Promise<string[]> {
  const changes: string[] = [];
  const toml = hostsToml(config);
  for (const host of registryHosts(config)) {
    const path = `${CERTS_D}/${host}/hosts.toml`;
    if ((await runtime.readFile(node.id, path)) !== toml) {
      await runtime.writeFile(node.id, path, toml);
      changes.push(`${node.name}: wrote ${path}`);
    }
  }
  if (alias.mode === "gateway") {
    const hosts = (await runtime.readFile(node.id, "/etc/hosts")) ?? "";
    const updated = etcHostsWithAlias(hosts, alias.ip);
    if (updated !== undefined) {
      await runtime.writeFile(node.id, "/etc/hosts", updated);
      changes.push(`${node.name}: ${HOST_ALIAS} -> ${alias.ip} in /etc/hosts`);
    }
  }
  return changes;
}

/** Cluster-level wiring through the API: the KEP-1755 ConfigMap and, on Linux, CoreDNS's hosts entry. */
export async function wireApi(kube: KubeApi, config: Config, alias: HostAlias): Promise<string[]> {
  const changes: string[] = [];
  // An external registry is no local registry to advertise.
  if (!config.registry.external && (await kube.applyConfigMap("kube-public", "local-registry-hosting", localRegistryHosting(config)))) {
    changes.push("applied kube-public/local-registry-hosting");
  }
  if (alias.mode === "gateway") {
    // An edit of the current Corefile, recomputed from the latest one if CoreDNS's ConfigMap
    // changes under us (applyConfigMap retries on 409 Conflict).
    const changed = await kube.applyConfigMap("kube-system", "coredns", (current) => {
      const corefile = current?.Corefile;
      if (corefile === undefined) throw new Error("kube-system/coredns has no Corefile");
      return { ...current, Corefile: corefileWithHost(corefile, alias.ip) };
    });
    if (changed) {
      await kube.restartDeployment("kube-system", "coredns", config.cluster.readyTimeout);
      changes.push(`CoreDNS resolves ${HOST_ALIAS} to ${alias.ip} (rolled out)`);
    }
  }
  return changes;
}
