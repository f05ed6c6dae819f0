import { clusterChecks, clusterPorts, kind } from "../cluster/index.js";
import { resolveConfig, type CommandOptions } from "../commands/context.js";
import type { Config } from "../config/index.js";
import { portState } from "../engine/index.js";
import { EnvironmentError, messageOf } from "../errors.js";
import { connectDocker, resolveEngine, Runtime, type ObservedContainer } from "../runtime/index.js";
import {
  classifyPolicy,
  enabledComponents,
  isAuthFailure,
  listAllObjects,
  liveMinioCredentials,
  MINIO_DATA_DIR,
  minioClient,
  missingDatabases,
  probeHost,
} from "../services/index.js";
import pg from "pg";
import { onPath } from "./tools.js";
import type { DoctorFacts } from "./types.js";

export interface DoctorOptions extends CommandOptions {
  /** A Helm values file to check key by key against the live stack. */
  valuesFile?: string;
  /** For tests: the platform the rules reason about (AirPlay on macOS). */
  platform?: NodeJS.Platform;
}

/**
 * Gathers every fact the rules need. Never throws for what it diagnoses (an unreachable engine,
 * a missing tool, a failing service); only bad input (the config itself) is an error.
 */
export async function gatherFacts(
  options: DoctorOptions,
  readValues?: (file: string, config: Config, observed: ReadonlyMap<string, ObservedContainer>) => Promise<DoctorFacts["values"]>,
): Promise<DoctorFacts> {
  const { config } = await resolveConfig(options);
  const env = options.env ?? process.env;
  const address = resolveEngine(env).address;
  const [engineResult, kindTool, helm, kubectl] = await Promise.all([
    connectDocker(env).then(
      async ({ docker }) => ({ docker, version: (await docker.version()).Version }),
      (err: unknown) => err,
    ),
    kind.version().then(
      (version) => ({ version }),
      (err: unknown) => (err instanceof EnvironmentError && /not installed/.test(err.message) ? { missing: true as const } : { error: messageOf(err) }),
    ),
    onPath("helm", env.PATH),
    onPath("kubectl", env.PATH),
  ]);
  const facts: DoctorFacts = {
    platform: options.platform ?? process.platform,
    config,
    engine:
      engineResult instanceof Error
        ? { reachable: false, address, error: engineResult.message, hint: engineResult instanceof EnvironmentError ? engineResult.hint : undefined }
        : { reachable: true, address, version: (engineResult as { version: string }).version },
    tools: { kind: kindTool, helm, kubectl },
    containers: [],
    ports: [],
  };
  if (engineResult instanceof Error) {
    if (options.valuesFile && readValues) facts.values = await readValues(options.valuesFile, config, new Map());
    return facts;
  }
  const runtime = new Runtime((engineResult as { docker: Runtime["docker"] }).docker);
  const components = enabledComponents(config);
  const observed = await runtime.observe(components.map((c) => config[c.name].container));

  for (const component of components) {
    const name = config[component.name].container;
    const c = observed.get(name);
    facts.containers.push({ service: component.name, name, observed: c, logs: c && (!c.running || c.state === "restarting") ? await runtime.logTail(c.id, 15) : "" });
    for (const p of component.spec(config).ports) {
      const state = await portState(runtime, p, c);
      facts.ports.push({ service: component.name, key: p.key, hostIp: p.hostIp, port: p.hostPort, status: state.status, ...(state.holder ? { holder: state.holder } : {}) });
    }
  }
  if (config.cluster.enabled) {
    // The ingress ports kind publishes on the control plane: fine when that node holds them.
    const controlPlane = `${config.cluster.name}-control-plane`;
    const node = (await runtime.observe([controlPlane])).get(controlPlane);
    for (const p of clusterPorts(config)) {
      const state = await portState(runtime, p, node);
      facts.ports.push({ service: "cluster", key: p.key, hostIp: p.hostIp, port: p.hostPort, status: state.status, ...(state.holder ? { holder: state.holder } : {}) });
    }
  }

  const host = probeHost(config);
  const pgContainer = observed.get(config.postgres.container);
  if (config.postgres.enabled && pgContainer?.running) facts.postgres = await postgresFacts(config, host);
  const minioContainer = observed.get(config.minio.container);
  if (config.minio.enabled && minioContainer?.running) facts.minio = await minioFacts(config, host, runtime, minioContainer);
  if (config.cluster.enabled && "version" in kindTool) {
    const exists = (await kind.clusters().catch(() => [] as string[])).includes(config.cluster.name);
    if (exists) facts.cluster = await clusterChecks(runtime, config);
  }
  if (options.valuesFile && readValues) facts.values = await readValues(options.valuesFile, config, observed);
  return facts;
}

async function postgresFacts(config: Config, host: string): Promise<NonNullable<DoctorFacts["postgres"]>> {
  const client = new pg.Client({ host, port: config.postgres.port, user: config.postgres.user, password: config.postgres.password, database: "postgres", connectionTimeoutMillis: 3000 });
  client.on("error", () => undefined);
  try {
    await client.connect();
    return { authFailed: false, missingDatabases: await missingDatabases(client, config.postgres.databases) };
  } catch (err) {
    return { authFailed: isAuthFailure(err), error: messageOf(err), missingDatabases: [] };
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function minioFacts(config: Config, host: string, runtime: Runtime, container: ObservedContainer): Promise<NonNullable<DoctorFacts["minio"]>> {
  const bucket = config.minio.bucket;
  const client = await minioClient({ config, host }, liveMinioCredentials(config, container));
  try {
    const bucketExists = await client.bucketExists(bucket);
    if (!bucketExists) return { bucketExists, access: "none", strayFiles: [] };
    let policy: string | undefined;
    try {
      policy = (await client.getBucketPolicy(bucket)) || undefined;
    } catch (err) {
      if ((err as { code?: string }).code !== "NoSuchBucketPolicy") throw err;
    }
    const keys = (await listAllObjects(client, bucket)).map((o) => o.key);
    // The data directory is MinIO's, not a filesystem for us: a file there that no object key
    // accounts for was copied in directly (the seed's "DO NOT copy files directly to /data/dify/").
    // Object storage keeps each object under a path that starts with its key (MinIO: KEY/xl.meta).
    const files = await runtime.listFiles(container.id, `${MINIO_DATA_DIR}/${bucket}`);
    const strayFiles = files.filter((f) => !keys.some((k) => f === k || f.startsWith(k)));
    return { bucketExists, access: classifyPolicy(bucket, policy), strayFiles };
  } catch (err) {
    return { error: messageOf(err), bucketExists: false, access: "none", strayFiles: [] };
  }
}
