import { dirname } from "node:path";
import type { Readable } from "node:stream";
import type { z } from "zod";
import { OperationError } from "../../errors.js";
import { pollUntil } from "../../util/index.js";
import { execEnded, runningContainer, type SnapshotCapability } from "../snapshot.js";
import { check } from "../../engine/index.js";
import { port, serviceSchema } from "../fields.js";
import { PROBE_TIMEOUT_MS, defineService, type ServiceContext } from "../service.js";

export const registrySchema = serviceSchema(
  { port: port.default(5050) },
  { container: "local-registry", image: "registry:2", volume: "local-registry-data", restart: "always" },
);
export type RegistrySettings = z.infer<typeof registrySchema>;

/** Where the registry answers from this machine: `host` and its `port`. */
export interface RegistryTarget {
  host: string;
  settings: Pick<RegistrySettings, "port">;
}

function base(t: RegistryTarget): string {
  return `http://${t.host}:${t.settings.port}`;
}

/** The registry's repositories (`GET /v2/_catalog`), following pagination. */
export async function catalog(t: RegistryTarget): Promise<string[]> {
  const repos: string[] = [];
  let next: string | undefined = "/v2/_catalog?n=1000";
  while (next) {
    const res: Response = await fetch(new URL(next, base(t)), { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    if (!res.ok) throw new Error(`GET /v2/_catalog answered ${res.status}`);
    const body = (await res.json()) as { repositories?: string[] };
    repos.push(...(body.repositories ?? []));
    const link = res.headers.get("link");
    next = link?.match(/<([^>]+)>;\s*rel="next"/)?.[1];
  }
  return repos;
}

/** Tags of one repository (`GET /v2/<name>/tags/list`). */
export async function tags(t: RegistryTarget, repo: string): Promise<string[]> {
  const res = await fetch(`${base(t)}/v2/${repo}/tags/list`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
  if (res.status === 404) return [];
  if (!res.ok) throw new Error(`GET /v2/${repo}/tags/list answered ${res.status}`);
  const body = (await res.json()) as { tags?: string[] | null };
  return body.tags ?? [];
}

const DATA_DIR = "/var/lib/registry";
const ARCHIVE = "registry.tar";

/**
 * The registry's share of a snapshot: its data folder through the Docker archive API; restored by
 * emptying it, stopping the registry (it caches what blobs exist), putting the archive back and
 * starting it again.
 */
const registrySnapshot: SnapshotCapability<ServiceContext<RegistrySettings>, RegistrySettings> = {
  async save(ctx, out) {
    const container = runningContainer("registry", ctx.settings.container, ctx.container);
    await out.write(ARCHIVE, (await ctx.runtime.archiveOut(container.id, DATA_DIR)) as Readable);
  },
  replaces: (c) => `every image in ${c.container}`,
  async restore(ctx, input) {
    const container = runningContainer("registry", ctx.settings.container, ctx.container);
    const rm = await ctx.runtime.execStream(container.id, ["sh", "-c", 'rm -rf "$1"/* "$1"/.[!.]*', "sh", DATA_DIR]);
    rm.stdout.resume();
    await execEnded(`emptying ${DATA_DIR}`, rm.done);
    await ctx.runtime.stop(container.id);
    // The archive's top folder is the data folder's own name.
    await ctx.runtime.archiveIn(container.id, dirname(DATA_DIR), input.open(ARCHIVE));
    await ctx.runtime.start(container.id);
    await pollUntil(async () => ((await fetch(`${base(ctx)}/v2/`).catch(() => undefined))?.status === 200 ? true : undefined), {
      timeoutMs: ctx.stack.readyTimeout * 1000,
      onTimeout: () => new OperationError(`the registry ${container.name} did not answer after the restore`),
    });
    return [`restored the images of ${container.name}`];
  },
};

export const registry = defineService<typeof registrySchema>({
  name: "registry",
  title: "Registry",
  schema: registrySchema,
  container: {
    dataDir: "/var/lib/registry",
    ports: (c) => [{ containerPort: 5000, hostPort: c.port, key: "port" }],
  },
  async probe(ctx) {
    const res = await fetch(`${base(ctx)}/v2/`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    if (res.status !== 200) throw new Error(`GET /v2/ answered ${res.status}`);
  },
  async checks(ctx) {
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
  values: (c, _live, o) => ({
    plugin_connector: {
      imageRepoType: "docker",
      imageRepoPrefix: `${o.host}:${c.port}`,
      // The local registry speaks plain HTTP.
      insecureImageRepo: true,
    },
  }),
  snapshot: registrySnapshot,
});
