import type { Check } from "../engine/index.js";
import { messageOf } from "../errors.js";
import type { LabelledContainer } from "../runtime/index.js";
import type { Cluster } from "./cluster.js";
import { certsDDetail, certsDFix, certsDWhy, nodeRegistrySettings } from "./containerd-nodes.js";
import { CERTS_D, HOST_ALIAS } from "./files.js";
import { ingressChecks } from "./ingress/checks.js";
import { KIND_NETWORK } from "./wiring.js";

/** A host port pods must reach at host.docker.internal, with the config key it comes from. */
export interface ServicePort {
  key: string;
  port: number;
}

/**
 * The seed's cluster verifications, each a named check: the cluster exists, its nodes are Ready,
 * and every node's containerd reads certs.d, has hosts.toml, resolves the host alias and reaches
 * the registry and every host service port (`hostPorts`, from the enabled services); and the
 * registry container is on the kind network (`up` joins it there).
 */
export async function clusterChecks(cluster: Cluster, hostPorts: readonly ServicePort[]): Promise<Check[]> {
  const exists: Check = { id: "cluster.exists", ok: false, what: `kind cluster ${cluster.name} exists` };
  try {
    if (!(await cluster.exists())) return [{ ...exists, detail: "it does not", fix: "run `dify-local up`" }];
  } catch (err) {
    return [{ ...exists, detail: messageOf(err), fix: "install kind, then run `dify-local up`" }];
  }
  const perNode = await Promise.all((await cluster.nodes()).map((node) => nodeChecks(cluster, node, hostPorts)));
  // An external registry has no container of ours to join the kind network.
  const network = cluster.config.registry.enabled && !cluster.config.registry.external ? [await registryOnNetwork(cluster)] : [];
  return [{ ...exists, ok: true }, await nodesReady(cluster), ...perNode.flat(), ...network, ...(await ingressChecks(cluster))];
}

async function registryOnNetwork(cluster: Cluster): Promise<Check> {
  const name = cluster.config.registry.container;
  const container = await cluster.runtime.inspect(name);
  return outcome(
    "cluster.registry-network",
    container?.networks.includes(KIND_NETWORK) ?? false,
    `${name} is on the ${KIND_NETWORK} network`,
    {
      detail: container ? `it is on ${container.networks.join(", ") || "no network"}` : "it does not exist",
      fix: "run `dify-local up` to connect it",
    },
  );
}

async function nodesReady(cluster: Cluster): Promise<Check> {
  const expected = 1 + cluster.config.cluster.workers;
  const what = `${expected} nodes Ready`;
  try {
    const nodes = await (await cluster.kube()).nodes();
    const notReady = nodes.filter((n) => !n.ready).map((n) => n.name);
    const ok = nodes.length >= expected && notReady.length === 0;
    const detail = `${nodes.length} nodes${notReady.length ? `; not Ready: ${notReady.join(", ")}` : ""}`;
    return { id: "cluster.nodes", ok, what, detail, ...(ok ? {} : { fix: `kubectl describe nodes --context ${cluster.contextName}` }) };
  } catch (err) {
    return { id: "cluster.nodes", ok: false, what, detail: messageOf(err), fix: `kubectl get nodes --context ${cluster.contextName}` };
  }
}

/** A check that carries what was seen and the fix only when it failed. */
function outcome(id: string, ok: boolean, what: string, failure: { detail: string; fix: string }): Check {
  return ok ? { id, ok, what } : { id, ok, what, ...failure };
}

/** The shell script one exec runs in a node: the alias, the registry's /v2/ over HTTP, then every host port over TCP. */
function probeScript(registryPort: number, hostPorts: readonly ServicePort[]): string {
  const tcp = (port: number) =>
    `if timeout 3 bash -c 'exec 3<>/dev/tcp/${HOST_ALIAS}/${port}' 2>/dev/null; then echo "port ${port} open"; else echo "port ${port} closed"; fi`;
  return [
    `if getent hosts ${HOST_ALIAS} >/dev/null; then echo "alias resolves"; else echo "alias missing"; fi`,
    `code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 http://${HOST_ALIAS}:${registryPort}/v2/ || true); echo "registry $code"`,
    ...hostPorts.map((p) => tcp(p.port)),
  ].join("\n");
}

/** One node: hosts.toml read through the archive API, then one exec probing the alias, the registry and every port. */
async function nodeChecks(cluster: Cluster, node: LabelledContainer, hostPorts: readonly ServicePort[]): Promise<Check[]> {
  const name = node.name;
  if (!node.running)
    return [outcome(`cluster.node.${name}`, false, `node ${name} is running`, { detail: "it is stopped", fix: `docker start ${name}` })];
  const registryPort = cluster.config.registry.port;
  const server = `server = "http://${HOST_ALIAS}:${registryPort}"`;
  const tomlPath = `${CERTS_D}/${HOST_ALIAS}:${registryPort}/hosts.toml`;
  const toml = await cluster.runtime.readFile(node.id, tomlPath);
  const res = await cluster.runtime.exec(node.id, ["bash", "-c", probeScript(registryPort, hostPorts)]);
  const containerd = await containerdCheck(cluster, node);
  const closed = hostPorts.filter((p) => !res.stdout.includes(`port ${p.port} open`));
  const up = "run `dify-local up`";
  const all = [
    containerd,
    outcome(`cluster.hosts-toml.${name}`, toml?.includes(server) ?? false, `${name} has ${tomlPath} with ${server}`, {
      detail: toml === undefined ? "missing" : "wrong server",
      fix: `${up} to rewrite it`,
    }),
    outcome(`cluster.host-alias.${name}`, res.stdout.includes("alias resolves"), `${HOST_ALIAS} resolves inside ${name}`, {
      detail: "it does not resolve",
      fix: `${up} (on Linux it adds the kind network's gateway to the node's /etc/hosts)`,
    }),
    outcome(
      `cluster.registry.${name}`,
      /^registry 200$/m.test(res.stdout),
      `${name} reaches the registry at http://${HOST_ALIAS}:${registryPort}/v2/`,
      {
        detail: /^registry (\S*)$/m.exec(res.stdout)?.[1] || res.stderr.trim() || "no answer",
        fix: `${up} (on Linux it maps host.docker.internal in every node)`,
      },
    ),
    outcome(`cluster.host-ports.${name}`, closed.length === 0, `${name} reaches every host service at ${HOST_ALIAS}`, {
      detail: `unreachable: ${closed.map((p) => `${p.port} (${p.key})`).join(", ")}`,
      fix: `${up}; check that the services run (\`dify-local status\`)`,
    }),
  ];
  // An external registry: nodes pull from it at its own name, not through the host alias and hosts.toml.
  if (!cluster.config.registry.external) return all;
  return all.filter((c) => !c.id.startsWith("cluster.hosts-toml.") && !c.id.startsWith("cluster.registry."));
}

/** Whether containerd in the node reads the hosts.toml files at all (its CRI registry config_path). */
async function containerdCheck(cluster: Cluster, node: LabelledContainer): Promise<Check> {
  const id = `cluster.containerd.${node.name}`;
  const what = `containerd in ${node.name} reads ${CERTS_D} (config_path)`;
  try {
    const settings = await nodeRegistrySettings(cluster.runtime, node);
    if (settings.readsCertsD) return { id, ok: true, what };
    return { id, ok: false, what, detail: certsDDetail(settings), why: certsDWhy(cluster.config.registry.port), fix: certsDFix(settings) };
  } catch (err) {
    return { id, ok: false, what, detail: messageOf(err), fix: `docker exec ${node.name} containerd config dump` };
  }
}
