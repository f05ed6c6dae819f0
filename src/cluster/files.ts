import { stringify } from "yaml";
import type { Config } from "../config/index.js";
import type { PortBinding } from "../runtime/index.js";

/** The host name pods and nodes use for the machine running Docker. */
export const HOST_ALIAS = "host.docker.internal";

/** Where containerd reads per-registry host config (the kind config points `config_path` here). */
export const CERTS_D = "/etc/containerd/certs.d";

/**
 * The ingress ports kind publishes from the control plane (80 and 443 inside), on the configured
 * host address like every other published port: kind's own default would be 0.0.0.0.
 */
export function clusterPorts(config: Config): PortBinding[] {
  return [
    { containerPort: 80, hostPort: config.cluster.httpPort, hostIp: config.bind, key: "cluster.httpPort" },
    { containerPort: 443, hostPort: config.cluster.httpsPort, hostIp: config.bind, key: "cluster.httpsPort" },
  ];
}

/**
 * The kind cluster config dify-local generates: one control plane labelled ingress-ready with
 * 80/443 mapped on `bind`, `workers` workers, and containerd reading registry hosts from certs.d,
 * so hosts.toml files apply without a containerd restart (the seed restarts it and sleeps).
 */
export function kindConfig(config: Config): string {
  const c = config.cluster;
  const image = c.nodeImage ? { image: c.nodeImage } : {};
  const doc = {
    kind: "Cluster",
    apiVersion: "kind.x-k8s.io/v1alpha4",
    name: c.name,
    nodes: [
      {
        role: "control-plane",
        ...image,
        labels: { "ingress-ready": "true" },
        extraPortMappings: clusterPorts(config).map((p) => ({
          containerPort: p.containerPort,
          hostPort: p.hostPort,
          listenAddress: p.hostIp,
          protocol: "TCP",
        })),
      },
      ...Array.from({ length: c.workers }, () => ({ role: "worker", ...image })),
    ],
    containerdConfigPatches: [`[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "${CERTS_D}"\n`],
  };
  return stringify(doc);
}

/**
 * Registry host names nodes pull through: the seed's `host.docker.internal:<port>` and
 * `localhost:<port>`; none for an external registry (nodes reach it at its own name, as any registry).
 */
export function registryHosts(config: Config): string[] {
  if (config.registry.external) return [];
  return [`${HOST_ALIAS}:${config.registry.port}`, `localhost:${config.registry.port}`];
}

/**
 * hosts.toml for one registry name, exactly the seed's content: plain HTTP to the local registry.
 * `localhost:<port>` inside a node means the node itself, so both names point at the host alias.
 */
export function hostsToml(config: Config): string {
  const server = `http://${HOST_ALIAS}:${config.registry.port}`;
  return `server = "${server}"\n\n[host."${server}"]\n  capabilities = ["pull", "resolve", "push"]\n  skip_verify = true\n`;
}

/** The KEP-1755 "local registry hosting" ConfigMap data. */
export function localRegistryHosting(config: Config): Record<string, string> {
  const port = config.registry.port;
  return {
    "localRegistryHosting.v1": stringify({
      host: `localhost:${port}`,
      hostFromContainerRuntime: `${HOST_ALIAS}:${port}`,
      hostFromClusterNetwork: `${HOST_ALIAS}:${port}`,
      help: "https://kind.sigs.k8s.io/docs/user/local-registry/",
    }),
  };
}

const MARK = "# dify-local: host.docker.internal";

/**
 * Adds (or updates) a `hosts` block mapping `alias` to `ip` in the Corefile's root server block,
 * so pods resolve the host on Linux engines. Idempotent: the same input returns the same text.
 */
export function corefileWithHost(corefile: string, ip: string, alias = HOST_ALIAS): string {
  const block = `    hosts {\n        ${ip} ${alias}\n        fallthrough\n    }\n`;
  const marked = `    ${MARK}\n${block}`;
  const existing = new RegExp(`    ${escape(MARK)}\\n    hosts \\{\\n[^}]*\\}\\n`);
  if (existing.test(corefile)) return corefile.replace(existing, marked);
  const root = /^\.:53 \{\n/m;
  if (!root.test(corefile)) throw new Error("the CoreDNS Corefile has no `.:53 {` server block");
  return corefile.replace(root, (m) => `${m}${marked}`);
}

/** The IP the Corefile currently maps the alias to, if dify-local added it. */
export function corefileHost(corefile: string, alias = HOST_ALIAS): string | undefined {
  const m = new RegExp(`${escape(MARK)}\\n\\s*hosts \\{\\n\\s*(\\S+) ${escape(alias)}`).exec(corefile);
  return m?.[1];
}

/** /etc/hosts with `ip alias` present exactly once; returns undefined when it already is. */
export function etcHostsWithAlias(hosts: string, ip: string, alias = HOST_ALIAS): string | undefined {
  const lines = hosts.split("\n");
  const mine = lines.filter((l) => l.trim().split(/\s+/).slice(1).includes(alias));
  if (mine.length === 1 && mine[0]?.trim().split(/\s+/)[0] === ip) return undefined;
  const kept = lines.filter((l) => !l.trim().split(/\s+/).slice(1).includes(alias));
  while (kept.length > 0 && kept[kept.length - 1] === "") kept.pop();
  return `${kept.join("\n")}\n${ip}\t${alias}\n`;
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
