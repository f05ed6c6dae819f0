import Docker from "dockerode";
import type { ConfigInput } from "../../src/config/index.js";
import { engineKey, VolumeRecord } from "../../src/stack/index.js";
import { FIXTURE_IMAGES } from "./fixtures.js";

/** The engine, the way the tests reach it (DOCKER_HOST honoured, as the tool does). */
export const docker = new Docker();

/**
 * Seven consecutive host ports from `base`: registry, postgres, redis, minio api, console, qdrant http, grpc.
 * A cluster a test enables installs no ingress controller (`cluster.ingress.controller: none`)
 * unless the test says so: test/integration/cluster-ingress.test.ts covers it.
 */
export function testConfig(id: string, base: number, extra: ConfigInput = {}): ConfigInput {
  const name = (svc: string) => `dlt-${id}-${svc}`;
  const cfg: ConfigInput = {
    readyTimeout: 90,
    registry: { container: name("registry"), volume: `${name("registry")}-data`, image: FIXTURE_IMAGES.registry, port: base },
    postgres: { container: name("postgres"), volume: `${name("postgres")}-data`, image: FIXTURE_IMAGES.postgres, port: base + 1 },
    redis: { container: name("redis"), volume: `${name("redis")}-data`, image: FIXTURE_IMAGES.redis, port: base + 2 },
    minio: {
      container: name("minio"),
      volume: `${name("minio")}-data`,
      image: FIXTURE_IMAGES.minio,
      port: base + 3,
      consolePort: base + 4,
    },
    qdrant: {
      container: name("qdrant"),
      volume: `${name("qdrant")}-data`,
      image: FIXTURE_IMAGES.qdrant,
      port: base + 5,
      grpcPort: base + 6,
    },
    cluster: { enabled: false, ingress: { controller: "none" } },
  };
  return merge(cfg, extra);
}

/** The seed's defaults with only the image references pointed at the fixtures. */
export function seedConfigWithFixtures(): ConfigInput {
  return {
    registry: { image: FIXTURE_IMAGES.registry },
    postgres: { image: FIXTURE_IMAGES.postgres },
    redis: { image: FIXTURE_IMAGES.redis },
    minio: { image: FIXTURE_IMAGES.minio },
    qdrant: { image: FIXTURE_IMAGES.qdrant },
    cluster: { enabled: false },
  };
}

const SERVICES = ["registry", "postgres", "redis", "minio", "qdrant"] as const;

/** Names of the containers and volumes a config makes, with the seed's defaults filled in. */
export function namesOf(cfg: ConfigInput): { containers: string[]; volumes: string[] } {
  const defaults = {
    registry: ["local-registry", "local-registry-data"],
    postgres: ["dev-postgres", "dev-postgres-data"],
    redis: ["dev-redis", "dev-redis-data"],
    minio: ["dev-minio", "dev-minio-data"],
    qdrant: ["dev-qdrant", "dev-qdrant-data"],
  } as const;
  const containers: string[] = [];
  const volumes: string[] = [];
  for (const s of SERVICES) {
    const section = (cfg as Record<string, { container?: string; volume?: string } | undefined>)[s];
    containers.push(section?.container ?? defaults[s][0]);
    volumes.push(section?.volume ?? defaults[s][1]);
  }
  return { containers, volumes };
}

/**
 * Removes every container and volume a config makes (whatever state they are in), and dify-local's
 * record of having used those volumes (so the next run's `up` does not report them as lost).
 */
export async function cleanup(cfg: ConfigInput, more: { containers?: string[]; volumes?: string[] } = {}): Promise<void> {
  const { containers, volumes } = namesOf(cfg);
  await Promise.all(
    [...containers, ...(more.containers ?? [])].map((n) =>
      docker
        .getContainer(n)
        .remove({ force: true, v: true })
        .catch(() => undefined),
    ),
  );
  await Promise.all(
    [...volumes, ...(more.volumes ?? [])].map((v) =>
      docker
        .getVolume(v)
        .remove()
        .catch(() => undefined),
    ),
  );
  const { ID } = (await docker.info()) as { ID: string };
  const record = VolumeRecord.of(process.env, engineKey(ID, ""));
  await Promise.all([...volumes, ...(more.volumes ?? [])].map((v) => record.remove(v)));
}

/** Inspects the named containers: id and start time, to prove a rerun touched nothing. */
export async function snapshot(names: string[]): Promise<Record<string, { id: string; startedAt: string }>> {
  const out: Record<string, { id: string; startedAt: string }> = {};
  for (const n of names) {
    const info = await docker.getContainer(n).inspect();
    out[n] = { id: info.Id, startedAt: info.State.StartedAt };
  }
  return out;
}

export async function exists(kind: "container" | "volume", name: string): Promise<boolean> {
  try {
    if (kind === "container") await docker.getContainer(name).inspect();
    else await docker.getVolume(name).inspect();
    return true;
  } catch {
    return false;
  }
}

function merge(a: ConfigInput, b: ConfigInput): ConfigInput {
  const out: Record<string, unknown> = { ...(a as Record<string, unknown>) };
  for (const [k, v] of Object.entries(b as Record<string, unknown>)) {
    const prev = out[k];
    out[k] = prev && typeof prev === "object" && v && typeof v === "object" && !Array.isArray(v) ? { ...prev, ...v } : v;
  }
  return out;
}

/**
 * The tests that use the seed's own names (dev-postgres, local-registry, ...) remove those
 * containers and volumes. On a developer's machine they may hold real data, so those tests refuse
 * to start while any of them exists, unless DIFY_LOCAL_TESTS_MAY_REMOVE_SEED_STACK=1 says they may.
 */
export async function guardSeedNames(cfg: ConfigInput): Promise<void> {
  if (process.env.DIFY_LOCAL_TESTS_MAY_REMOVE_SEED_STACK === "1") return;
  const seed = namesOf({});
  const containers = namesOf(cfg).containers.filter((c) => seed.containers.includes(c));
  const volumes = namesOf(cfg).volumes.filter((v) => seed.volumes.includes(v));
  const found: string[] = [];
  for (const c of containers) if (await exists("container", c)) found.push(`container ${c}`);
  for (const v of volumes) if (await exists("volume", v)) found.push(`volume ${v}`);
  if (found.length > 0) {
    throw new Error(
      `refusing to run: this test removes the seed's containers and volumes, and ${found.join(", ")} exist on this engine. ` +
        "Run `dify-local down --purge` if they are disposable, or set DIFY_LOCAL_TESTS_MAY_REMOVE_SEED_STACK=1.",
    );
  }
}
