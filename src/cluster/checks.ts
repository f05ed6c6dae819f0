import type { Config } from "../config/index.js";
import type { Runtime } from "../runtime/index.js";
import type { Check } from "../services/index.js";
import { CERTS_D, HOST_ALIAS } from "./files.js";
import { kind } from "./kind.js";
import { KubeApi } from "./kube.js";
import { kindNodes } from "./wiring.js";

/** Host ports a pod must reach at host.docker.internal: every enabled service's. */
export function hostServicePorts(config: Config): Array<{ key: string; port: number }> {
  const out: Array<{ key: string; port: number }> = [];
  if (config.registry.enabled) out.push({ key: "registry.port", port: config.registry.port });
  if (config.postgres.enabled) out.push({ key: "postgres.port", port: config.postgres.port });
  if (config.redis.enabled) out.push({ key: "redis.port", port: config.redis.port });
  if (config.minio.enabled) out.push({ key: "minio.port", port: config.minio.port }, { key: "minio.consolePort", port: config.minio.consolePort });
  if (config.qdrant.enabled) out.push({ key: "qdrant.port", port: config.qdrant.port }, { key: "qdrant.grpcPort", port: config.qdrant.grpcPort });
  return out;
}

/** The seed's cluster verifications, each a named check. */
export async function clusterChecks(runtime: Runtime, config: Config): Promise<Check[]> {
  const name = config.cluster.name;
  const checks: Check[] = [];
  let clusters: string[];
  try {
    clusters = await kind.clusters();
  } catch (err) {
    return [{ id: "cluster.exists", ok: false, what: `kind cluster ${name} exists`, detail: err instanceof Error ? err.message : String(err), fix: "install kind, then run `dify-local up`" }];
  }
  if (!clusters.includes(name)) {
    return [{ id: "cluster.exists", ok: false, what: `kind cluster ${name} exists`, detail: "it does not", fix: "run `dify-local up`" }];
  }
  checks.push({ id: "cluster.exists", ok: true, what: `kind cluster ${name} exists` });

  const expected = 1 + config.cluster.workers;
  try {
    const kube = await KubeApi.open(await kind.kubeconfig(name), `kind-${name}`);
    const nodes = await kube.nodes();
    const notReady = nodes.filter((n) => !n.ready).map((n) => n.name);
    const ok = nodes.length >= expected && notReady.length === 0;
    checks.push({
      id: "cluster.nodes",
      ok,
      what: `${expected} nodes Ready`,
      detail: `${nodes.length} nodes${notReady.length ? `; not Ready: ${notReady.join(", ")}` : ""}`,
      ...(ok ? {} : { fix: "kubectl describe nodes --context kind-" + name }),
    });
  } catch (err) {
    checks.push({ id: "cluster.nodes", ok: false, what: `${expected} nodes Ready`, detail: err instanceof Error ? err.message : String(err), fix: `kubectl get nodes --context kind-${name}` });
  }

  const server = `server = "http://${HOST_ALIAS}:${config.registry.port}"`;
  const tomlPath = `${CERTS_D}/${HOST_ALIAS}:${config.registry.port}/hosts.toml`;
  const ports = hostServicePorts(config);
  for (const node of await kindNodes(runtime, name)) {
    if (!node.running) {
      checks.push({ id: `cluster.node.${node.name}`, ok: false, what: `node ${node.name} is running`, detail: "it is stopped", fix: `docker start ${node.name}` });
      continue;
    }
    const toml = await runtime.readFile(node.id, tomlPath);
    checks.push({
      id: `cluster.hosts-toml.${node.name}`,
      ok: toml?.includes(server) ?? false,
      what: `${node.name} has ${tomlPath} with ${server}`,
      ...(toml?.includes(server) ? {} : { detail: toml === undefined ? "missing" : "wrong server", fix: "run `dify-local up` to rewrite it" }),
    });
    // One exec per node: the registry's /v2/ over HTTP, then every host port over TCP.
    const script = [
      `if getent hosts ${HOST_ALIAS} >/dev/null; then echo "alias resolves"; else echo "alias missing"; fi`,
      `code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 http://${HOST_ALIAS}:${config.registry.port}/v2/ || true); echo "registry $code"`,
      ...ports.map((p) => `if timeout 3 bash -c 'exec 3<>/dev/tcp/${HOST_ALIAS}/${p.port}' 2>/dev/null; then echo "port ${p.port} open"; else echo "port ${p.port} closed"; fi`),
    ].join("\n");
    const res = await runtime.exec(node.id, ["bash", "-c", script]);
    const resolves = res.stdout.includes("alias resolves");
    checks.push({
      id: `cluster.host-alias.${node.name}`,
      ok: resolves,
      what: `${HOST_ALIAS} resolves inside ${node.name}`,
      ...(resolves ? {} : { detail: "it does not resolve", fix: "run `dify-local up` (on Linux it adds the kind network's gateway to the node's /etc/hosts)" }),
    });
    const registryOk = /^registry 200$/m.test(res.stdout);
    checks.push({
      id: `cluster.registry.${node.name}`,
      ok: registryOk,
      what: `${node.name} reaches the registry at http://${HOST_ALIAS}:${config.registry.port}/v2/`,
      ...(registryOk ? {} : { detail: (/^registry (\S*)$/m.exec(res.stdout)?.[1] || res.stderr.trim()) || "no answer", fix: "run `dify-local up` (on Linux it maps host.docker.internal in every node)" }),
    });
    const closed = ports.filter((p) => !res.stdout.includes(`port ${p.port} open`));
    checks.push({
      id: `cluster.host-ports.${node.name}`,
      ok: closed.length === 0,
      what: `${node.name} reaches every host service at ${HOST_ALIAS}`,
      ...(closed.length === 0 ? {} : { detail: `unreachable: ${closed.map((p) => `${p.port} (${p.key})`).join(", ")}`, fix: "run `dify-local up`; check that the services run (`dify-local status`)" }),
    });
  }
  return checks;
}
