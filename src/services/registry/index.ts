import { dirname } from "node:path";
import type { Readable } from "node:stream";
import type { z } from "zod";
import { OperationError } from "../../errors.js";
import { httpGet, pollUntil, type HttpAnswer } from "../../util/index.js";
import { execEnded, runningContainer, type SnapshotCapability } from "../snapshot.js";
import { check } from "../../engine/index.js";
import { port, serviceSchema, withExternal } from "../fields.js";
import { PROBE_TIMEOUT_MS, defineService, type ExternalTarget, type FactSource, type ServiceContext } from "../service.js";
import {
  probeRegistry,
  registryChecks,
  registryEndpoints,
  registryExternalFindings,
  registryExternalSchema,
  registryTarget,
  registryValues,
  type RegistryExternal,
} from "./external.js";
import { probeFailure } from "../minio/external-errors.js";

const registrySection = serviceSchema(
  { port: port.default(5050) },
  { container: "local-registry", image: "registry:2", volume: "local-registry-data", restart: "always" },
);
/** The registry's section; `external: {...}` is an existing registry (ECR or another) instead of the container. */
export const registrySchema = withExternal(registrySection, registryExternalSchema, ["port"]);
export type RegistrySettings = z.infer<typeof registrySchema>;

/** Only an external registry has facts beyond the config: its section. */
export type RegistryLive = { source: FactSource; external: RegistryExternal } | undefined;

/** `registry.external` as the rest of dify-local reads it: its host and port, and the section in `live.external`. */
function externalTarget(ext: RegistryExternal, s: RegistrySettings): ExternalTarget<RegistrySettings, RegistryLive> {
  const at = registryTarget(ext);
  return { ...at, settings: { ...s, port: at.port }, live: { source: "external", external: ext } };
}

/** The external section a target carries (only an external target has one). */
function externalOf(t: ExternalTarget<RegistrySettings, RegistryLive>): RegistryExternal {
  if (!t.live) throw new Error("internal: an external registry target without its section");
  return t.live.external;
}

/** Where the registry answers from this machine: `host` and its `port` (plain HTTP), or an external registry's base `url`. */
export interface RegistryTarget {
  host: string;
  settings: Pick<RegistrySettings, "port">;
  url?: string;
}

function base(t: RegistryTarget): string {
  return t.url ?? `http://${t.host}:${t.settings.port}`;
}

/** A Registry API answer other than success, with its status (401: the registry asks for credentials). */
function refused(what: string, status: number): Error {
  return Object.assign(new Error(`${what} answered ${status}`), { status });
}

/** The registry's repositories (`GET /v2/_catalog`), following pagination. */
export async function catalog(t: RegistryTarget): Promise<string[]> {
  const repos: string[] = [];
  let next: string | undefined = "/v2/_catalog?n=1000";
  while (next) {
    const res: HttpAnswer = await httpGet(new URL(next, base(t)), { timeoutMs: PROBE_TIMEOUT_MS });
    if (res.status !== 200) throw refused("GET /v2/_catalog", res.status);
    repos.push(...(res.json<{ repositories?: string[] }>().repositories ?? []));
    next = [res.headers.link ?? []]
      .flat()
      .join(", ")
      .match(/<([^>]+)>;\s*rel="next"/)?.[1];
  }
  return repos;
}

/** Tags of one repository (`GET /v2/<name>/tags/list`). */
export async function tags(t: RegistryTarget, repo: string): Promise<string[]> {
  const res = await httpGet(`${base(t)}/v2/${repo}/tags/list`, { timeoutMs: PROBE_TIMEOUT_MS });
  if (res.status === 404) return [];
  if (res.status !== 200) throw refused(`GET /v2/${repo}/tags/list`, res.status);
  return res.json<{ tags?: string[] | null }>().tags ?? [];
}

const DATA_DIR = "/var/lib/registry";
const ARCHIVE = "registry.tar";

/**
 * The registry's share of a snapshot: its data folder through the Docker archive API; restored by
 * emptying it, stopping the registry (it caches what blobs exist), putting the archive back and
 * starting it again.
 */
const registrySnapshot: SnapshotCapability<ServiceContext<RegistrySettings, RegistryLive>, RegistrySettings> = {
  async save(ctx, out) {
    const container = runningContainer("registry", ctx.settings.container, ctx.container);
    await out.write(ARCHIVE, (await ctx.runtime.archiveOut(container.id, DATA_DIR)) as Readable);
  },
  replaces: (c) => `every image in ${c.container}`,
  notRestoredExternal: "the registry is external: its images are not restored (push them there again, or let the plugins be rebuilt)",
  async restore(ctx, input) {
    const container = runningContainer("registry", ctx.settings.container, ctx.container);
    const rm = await ctx.runtime.execStream(container.id, ["sh", "-c", 'rm -rf "$1"/* "$1"/.[!.]*', "sh", DATA_DIR]);
    rm.stdout.resume();
    await execEnded(`emptying ${DATA_DIR}`, rm.done);
    await ctx.runtime.stop(container.id);
    // The archive's top folder is the data folder's own name.
    await ctx.runtime.archiveIn(container.id, dirname(DATA_DIR), input.open(ARCHIVE));
    await ctx.runtime.start(container.id);
    const answers = () => httpGet(`${base(ctx)}/v2/`, { timeoutMs: PROBE_TIMEOUT_MS }).catch(() => undefined);
    await pollUntil(async () => ((await answers())?.status === 200 ? true : undefined), {
      timeoutMs: ctx.stack.readyTimeout * 1000,
      onTimeout: () => new OperationError(`the registry ${container.name} did not answer after the restore`),
    });
    return [`restored the images of ${container.name}`];
  },
};

export const registry = defineService<typeof registrySchema, RegistryLive>({
  name: "registry",
  title: "Registry",
  schema: registrySchema,
  container: {
    dataDir: "/var/lib/registry",
    ports: (c) => [{ containerPort: 5000, hostPort: c.port, key: "port" }],
  },
  async probe(ctx) {
    // An external registry: GET /v2/ over its own scheme (ECR too: its 401 asking for credentials is an answer).
    if (ctx.live) return void (await probeRegistry(ctx.live.external));
    const res = await httpGet(`${base(ctx)}/v2/`, { timeoutMs: PROBE_TIMEOUT_MS });
    if (res.status !== 200) throw new Error(`GET /v2/ answered ${res.status}`);
  },
  async checks(ctx) {
    if (ctx.live) return registryChecks(ctx.live.external);
    return [
      await check(
        "registry.catalog",
        `registry on ${base(ctx)} answers /v2/_catalog`,
        "run `dify-local up`; if the port is taken by AirPlay (macOS, port 5000), keep registry.port at 5050",
        async () => {
          const repos = await catalog(ctx);
          return `${repos.length} repositories`;
        },
      ),
    ];
  },
  endpoints: (c, h) => [{ label: "Registry", host: `http://${h.host}:${c.port}`, cluster: `http://${h.cluster}:${c.port}` }],
  values: (c, live, o) =>
    live
      ? registryValues(live.external, o.chart)
      : {
          plugin_connector: {
            imageRepoType: "docker",
            imageRepoPrefix: `${o.host}:${c.port}`,
            // The local registry speaks plain HTTP.
            insecureImageRepo: true,
          },
        },
  doctor: (ctx) => Promise.resolve(ctx.live ? registryExternalFindings(ctx.live.external) : []),
  snapshot: registrySnapshot,
  external: { connect: externalTarget, endpoints: (t) => registryEndpoints(externalOf(t)), classify: probeFailure },
});
