import { Cluster, KIND_NETWORK, Kind, clusterChecks, clusterPorts, nodeProxyFinding } from "../cluster/index.js";
import { clusterMode, existingContext, type Config } from "../config/index.js";
import { checkToFinding, portState, type Finding } from "../engine/index.js";
import { EnvironmentError, messageOf } from "../errors.js";
import { timed } from "../util/index.js";
import { connectDocker, resolveEngine, Runtime, type ObservedContainer } from "../runtime/index.js";
import { probeHost, type Service } from "../services/index.js";
import { engineKey, keyPairFacts, learnSecrets, resolveConfig, VolumeRecord, type StackOptions } from "../stack/index.js";
import { explainIngress, gatherIngressFacts } from "./ingress.js";
import { onPath } from "./tools.js";
import type { DoctorFacts, ExposureFact, ValuesFacts } from "./types.js";
import { readValuesFacts } from "./values-facts.js";

export interface DoctorOptions extends StackOptions {
  /** A Helm values file to check key by key against the live stack. */
  valuesFile?: string;
  /** For tests: the platform the rules reason about (AirPlay on macOS). */
  platform?: NodeJS.Platform;
}

type Engine = { runtime: Runtime; version: string } | { error: unknown };

async function engineOf(connected: Promise<Runtime>): Promise<Engine> {
  try {
    const runtime = await connected;
    return { runtime, version: await timed("engine version", () => runtime.version()) };
  } catch (err) {
    return { error: err };
  }
}

async function kindOf(kind: Kind): Promise<DoctorFacts["tools"]["kind"]> {
  try {
    return { version: await kind.version() };
  } catch (err) {
    return err instanceof EnvironmentError && /not installed/.test(err.message) ? { missing: true } : { error: messageOf(err) };
  }
}

/**
 * Gathers every fact the rules need. Never throws for what it diagnoses (an unreachable engine,
 * a missing tool, a failing service); only bad input (the config, the values file) is an error.
 */
export async function gatherFacts(options: DoctorOptions): Promise<DoctorFacts> {
  const { config, services } = await timed("config", () => resolveConfig(options));
  if (options.redactor) learnSecrets(options.redactor, services, config);
  const env = options.env ?? process.env;
  const kind = new Kind(options.kind);
  const context = existingContext(config);
  const all = services.filter((s) => s.settings(config).enabled);
  const connected = timed("engine connect", async () => new Runtime((await connectDocker(env)).docker));
  connected.catch(() => undefined);
  const engineAnswer = engineOf(connected);
  const early = engineReads(connected, services, all, config);
  const [engine, kindTool, helm, kubectl] = await Promise.all([
    engineAnswer,
    context === undefined ? timed("kind version", () => kindOf(kind)) : Promise.resolve({ unused: context }),
    onPath("helm", env.PATH),
    onPath("kubectl", env.PATH),
  ]);
  const address = resolveEngine(env).address;
  const facts: DoctorFacts = {
    platform: options.platform ?? process.platform,
    config,
    engine: engineFact(engine, address),
    tools: { kind: kindTool, helm, kubectl },
    containers: [],
    ports: [],
    volumes: [],
    services: [],
  };
  const values = (observed: ReadonlyMap<string, ObservedContainer>): Promise<ValuesFacts | undefined> =>
    options.valuesFile ? readValuesFacts(options.valuesFile, { services, config, observed }) : Promise.resolve(undefined);
  const started = await early;
  if ("error" in engine || !started) return withValues(facts, await values(new Map()));

  // External services have no container, port or volume here: only their own findings.
  const enabled = all.filter((s) => !s.external(config));
  const { observed } = started;
  if (options.redactor) learnSecrets(options.redactor, services, config, observed);
  const usesKind = clusterMode(config) === "kind";
  // Independent reads, side by side: the slowest (MinIO's walk of its data directory on a large
  // bucket, a distant external service) no longer adds to the others' time.
  const [perService, gateway, volumes, clusterPorts, findings, keyPairs] = await Promise.all([
    Promise.all(enabled.map((s) => serviceFacts(config, s, engine.runtime, observed))),
    usesKind ? engine.runtime.networkGateway(KIND_NETWORK).catch(() => undefined) : undefined,
    engine.runtime
      .engineId()
      .catch(() => "")
      .then((id) => volumeFacts(config, enabled, engine.runtime, VolumeRecord.of(env, engineKey(id, address)))),
    usesKind ? clusterPortFacts(config, engine.runtime) : [],
    // Findings in the services' order, whatever order their I/O finished in.
    started.findings,
    keyPairFacts(config, probeHost(config), observed),
  ]);
  facts.containers = perService.map((p) => p.container);
  facts.exposure = exposureFacts(config, enabled, observed);
  if (gateway) facts.kindGateway = gateway;
  facts.volumes = volumes;
  facts.ports = [...perService.flatMap((p) => p.ports), ...clusterPorts];
  facts.services = findings.flat();
  facts.keyPairs = keyPairs;
  if (usesKind && "version" in kindTool) Object.assign(facts, await clusterFacts(new Cluster(config, engine.runtime, kind), enabled));
  return withValues(facts, await values(observed));
}

/** What the doctor reports of the engine: reachable with its version, or why not. */
function engineFact(engine: Engine, address: string): DoctorFacts["engine"] {
  if (!("error" in engine)) return { reachable: true, address, version: engine.version };
  const hint = engine.error instanceof EnvironmentError ? engine.error.hint : undefined;
  return { reachable: false, address, error: messageOf(engine.error), hint };
}

/**
 * The containers, then each service's findings, started as soon as the engine is connected (beside
 * asking its version, and the tools' checks: `kind version` starts a process): MinIO's walk of a
 * large bucket is the doctor's longest read. Undefined when the engine does not answer.
 */
function engineReads(
  connected: Promise<Runtime>,
  services: readonly Service[],
  all: readonly Service[],
  config: Config,
): Promise<{ observed: Map<string, ObservedContainer>; findings: Promise<Finding[][]> } | undefined> {
  return connected
    .then(
      async (runtime) => {
        const observed = await timed("observe containers", () => runtime.observe(services.map((s) => s.settings(config).container)));
        const findings = Promise.all(all.map((s) => timed(`doctor ${s.name}`, () => serviceFindings(s, config, runtime, observed))));
        findings.catch(() => undefined);
        return { observed, findings };
      },
      () => undefined,
    )
    .catch(() => undefined);
}

/** The cluster's findings and its ingress, when the cluster exists. */
async function clusterFacts(cluster: Cluster, enabled: readonly Service[]): Promise<Pick<DoctorFacts, "cluster" | "ingress">> {
  if (!(await cluster.exists().catch(() => false))) return {};
  const checks = await clusterChecks(
    cluster,
    enabled.flatMap((s) => s.hostPorts(cluster.config)),
  );
  return {
    cluster: [...checks.map(checkToFinding).map(explainIngress), await nodeProxyFinding(cluster)],
    ingress: await gatherIngressFacts(cluster),
  };
}

function withValues(facts: DoctorFacts, values: ValuesFacts | undefined): DoctorFacts {
  return values ? { ...facts, values } : facts;
}

/** Per running container: where its ports are published, and which of its live secrets are the seed's defaults. */
function exposureFacts(config: Config, enabled: readonly Service[], observed: ReadonlyMap<string, ObservedContainer>): ExposureFact[] {
  return enabled.flatMap((service) => {
    const container = observed.get(service.settings(config).container);
    // A stopped container is reachable by no one.
    if (!container?.running) return [];
    const defaults = new Set(service.defaultSecrets());
    return [
      {
        service: service.name,
        container: container.name,
        bindings: container.ports.map((p) => ({ address: p.hostIp || "0.0.0.0", port: p.hostPort })),
        defaultCredentials: service
          .credentials(config, container)
          .filter((c) => c.secret && defaults.has(c.value))
          .map((c) => c.label),
      },
    ];
  });
}

/** A service's container (with its last log lines when it is not running) and its ports. */
async function serviceFacts(
  config: Config,
  service: Service,
  runtime: Runtime,
  observed: ReadonlyMap<string, ObservedContainer>,
): Promise<{ container: DoctorFacts["containers"][number]; ports: DoctorFacts["ports"] }> {
  const name = service.settings(config).container;
  const c = observed.get(name);
  const logs = c && (!c.running || c.state === "restarting") ? await runtime.logTail(c.id, 15) : "";
  const ports = await Promise.all(
    service.spec(config).ports.map(async (p) => {
      const state = await portState(runtime, p, c);
      return {
        service: service.name,
        key: p.key,
        hostIp: p.hostIp,
        port: p.hostPort,
        status: state.status,
        ...(state.holder ? { holder: state.holder } : {}),
        ...(state.ephemeral ? { ephemeral: state.ephemeral } : {}),
      };
    }),
  );
  return { container: { service: service.name, name, observed: c, logs }, ports };
}

/** Each enabled service's data volume: does the engine have it, and has dify-local used it? */
async function volumeFacts(
  config: Config,
  enabled: readonly Service[],
  runtime: Runtime,
  record: VolumeRecord,
): Promise<DoctorFacts["volumes"]> {
  const names = enabled.map((s) => s.settings(config).volume);
  const existing = await runtime.existingVolumes(names);
  return Promise.all(
    enabled.map(async (s) => {
      const name = s.settings(config).volume;
      return { service: s.name, name, exists: existing.has(name), recorded: await record.get(name) };
    }),
  );
}

/** The ingress ports kind publishes on the control plane: fine when that node holds them. */
async function clusterPortFacts(config: Config, runtime: Runtime): Promise<DoctorFacts["ports"]> {
  const controlPlane = `${config.cluster.name}-control-plane`;
  const node = (await runtime.observe([controlPlane])).get(controlPlane);
  return Promise.all(
    clusterPorts(config).map(async (p) => {
      const state = await portState(runtime, p, node);
      return {
        service: "cluster",
        key: p.key,
        hostIp: p.hostIp,
        port: p.hostPort,
        status: state.status,
        ...(state.holder ? { holder: state.holder } : {}),
      };
    }),
  );
}

/** A running service's own diagnosis (PostgreSQL's login, MinIO's bucket, ...). */
async function serviceFindings(
  service: Service,
  config: Config,
  runtime: Runtime,
  observed: ReadonlyMap<string, ObservedContainer>,
): Promise<Finding[]> {
  if (service.external(config)) return externalFindings(service, config, runtime);
  const container = observed.get(service.settings(config).container);
  if (!container?.running) return [];
  return service.doctor({ config, runtime, host: probeHost(config), container });
}

/**
 * An external service: its own rule (PostgreSQL's names `sslmode: disable` against a server that
 * requires TLS), and, unless that rule judged the connection itself (`<name>.external`), one round
 * trip with its credentials, classified as `up` reports it.
 */
async function externalFindings(service: Service, config: Config, runtime: Runtime): Promise<Finding[]> {
  const ctx = { config, runtime, host: probeHost(config), container: undefined };
  const own = await service.doctor(ctx);
  const id = `${service.name}.external`;
  if (own.some((f) => f.id === id)) return own;
  const at = service.external(config);
  try {
    await service.probe(ctx);
    return [{ id, severity: "ok", what: `${service.title} at ${at?.address ?? "?"} (external, ${at?.tls ?? "?"}) answers` }, ...own];
  } catch (err) {
    const failure = service.externalFailure(config, err);
    return [
      { id, severity: "error", what: failure.message, fix: (failure as { hint?: string }).hint ?? `check ${service.name}.external` },
      ...own,
    ];
  }
}
