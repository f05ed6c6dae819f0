import { askIngress, ingressState, type ExistingCluster } from "../cluster/index.js";
import { messageOf } from "../errors.js";
import { timed } from "../util/index.js";
import { LABELS } from "../runtime/index.js";
import type { ExternalFacts, Service } from "../services/index.js";
import { Stack, type StackOptions } from "../stack/index.js";

export interface ServiceStatus {
  service: string;
  container: string;
  /** running, exited, restarting, created, paused, missing. */
  state: string;
  /** "dify-local" when made by it, "adopted" when made by hand under the seed's name, "external" when it runs elsewhere. */
  owner: "dify-local" | "adopted" | "none" | "external";
  endpoint: string;
  /** Where its data lives: "volume dev-redis-data", "host path /home/me/data/redis". */
  data?: string;
  /** The protocol probe's answer right now. */
  health: "healthy" | "unhealthy" | "unknown";
  detail?: string;
}

export interface StatusResult {
  services: ServiceStatus[];
}

/** A snapshot of every service: container state and one protocol round trip. */
export async function status(options: StackOptions = {}): Promise<StatusResult> {
  const stack = await Stack.open({ ...options, preloadClients: true });
  const services = await Promise.all(stack.enabled.map((s) => serviceStatus(stack, s)));
  const existing = stack.existing();
  if (existing) services.push(await existingStatus(existing));
  else if (stack.clusterMode === "kind") services.push(await clusterStatus(stack), await ingressStatus(stack));
  return { services };
}

/** An existing cluster (`cluster.context`) as one row: the context, its API server, and whether the namespace is there. */
async function existingStatus(existing: ExistingCluster): Promise<ServiceStatus> {
  const base = { service: "cluster", container: `context ${existing.context}`, owner: "adopted" as const };
  let server: string;
  try {
    server = (await existing.target()).server;
  } catch (err) {
    return { ...base, state: "unknown", endpoint: "", health: "unknown", detail: messageOf(err) };
  }
  try {
    const exists = await (await existing.kube()).namespaceExists(existing.namespace);
    const detail = `namespace ${existing.namespace} ${exists ? "exists" : "does not exist (dify-local up creates it)"}`;
    return { ...base, state: "reachable", endpoint: server, health: exists ? "healthy" : "unhealthy", detail };
  } catch (err) {
    return { ...base, state: "unreachable", endpoint: server, health: "unhealthy", detail: messageOf(err) };
  }
}

async function serviceStatus(stack: Stack, service: Service): Promise<ServiceStatus> {
  const at = service.external(stack.config);
  if (at) return externalStatus(stack, service, at);
  const c = await stack.containerOf(service);
  const data = stack.dataOf(service, c);
  const base = {
    service: service.name,
    container: service.settings(stack.config).container,
    state: c?.state ?? "missing",
    owner: !c ? ("none" as const) : c.labels[LABELS.managed] === "true" ? ("dify-local" as const) : ("adopted" as const),
    endpoint: service.endpoints(stack.config)[0]?.host ?? "",
    ...(data ? { data } : {}),
  };
  if (!c?.running) return { ...base, health: "unknown" };
  try {
    await timed(`probe ${service.name}`, () => service.probe(stack.contextFor(c)));
    return { ...base, health: "healthy" };
  } catch (err) {
    return { ...base, health: "unhealthy", detail: messageOf(err) };
  }
}

/** An external service's row: no container; its address and TLS, and one round trip with its credentials. */
async function externalStatus(stack: Stack, service: Service, at: ExternalFacts): Promise<ServiceStatus> {
  const base = {
    service: service.name,
    container: "external",
    state: `external, ${at.tls}`,
    owner: "external" as const,
    endpoint: service.endpoints(stack.config)[0]?.host ?? at.address,
  };
  try {
    await timed(`probe ${service.name}`, () => service.probe(stack.contextFor(undefined)));
    return { ...base, health: "healthy" };
  } catch (err) {
    return { ...base, health: "unhealthy", detail: messageOf(service.externalFailure(stack.config, err)) };
  }
}

/** The cluster as one more row: node containers running, and nodes Ready through the API. */
async function clusterStatus(stack: Stack): Promise<ServiceStatus> {
  const cluster = stack.cluster();
  const nodes = await cluster.nodes();
  const running = nodes.filter((n) => n.running).length;
  const base = {
    service: "cluster",
    container: `${cluster.name}-control-plane`,
    state: nodes.length === 0 ? "missing" : running === nodes.length ? "running" : `${running}/${nodes.length} nodes running`,
    owner: nodes.length === 0 ? ("none" as const) : (await cluster.createdByDifyLocal()) ? ("dify-local" as const) : ("adopted" as const),
    endpoint: cluster.contextName,
  };
  if (running === 0) return { ...base, health: "unknown" };
  try {
    const ready = await (await cluster.kube()).nodes();
    const notReady = ready.filter((n) => !n.ready).map((n) => n.name);
    return notReady.length === 0 && ready.length > 0
      ? { ...base, health: "healthy", detail: `${ready.length} nodes Ready` }
      : { ...base, health: "unhealthy", detail: `not Ready: ${notReady.join(", ") || "no nodes"}` };
  } catch (err) {
    return { ...base, health: "unhealthy", detail: messageOf(err) };
  }
}

/**
 * The ingress controller as one more row: its IngressClass (installed by dify-local, by someone
 * else, or missing; `controller: none` is "not managed") and one HTTP request to the ingress port.
 */
async function ingressStatus(stack: Stack): Promise<ServiceStatus> {
  const cluster = stack.cluster();
  const { ingress, httpPort } = stack.config.cluster;
  const base = { service: "ingress", container: `IngressClass ${ingress.className}`, endpoint: `http://${stack.host}:${httpPort}` };
  const unmanaged = ingress.controller === "none" ? " (cluster.ingress.controller: none)" : "";
  if (!(await cluster.exists())) return { ...base, state: "missing", owner: "none", health: "unknown" };
  let state: Awaited<ReturnType<typeof ingressState>>;
  try {
    state = await ingressState(await cluster.kube(), ingress.className);
  } catch (err) {
    return { ...base, state: "unknown", owner: "none", health: "unknown", detail: messageOf(err) };
  }
  const owner = state.record ? ("dify-local" as const) : state.installed ? ("adopted" as const) : ("none" as const);
  const row = { ...base, state: state.installed ? `installed${unmanaged}` : `missing${unmanaged}`, owner };
  const answer = await askIngress(stack.host, httpPort);
  return "status" in answer
    ? { ...row, health: "healthy", detail: `HTTP ${answer.status}${answer.server ? ` (${answer.server})` : ""}` }
    : { ...row, health: "unhealthy", detail: answer.error };
}
