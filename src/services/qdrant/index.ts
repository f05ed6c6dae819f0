import type { QdrantClient } from "@qdrant/js-client-rest";
import { z } from "zod";
import { check, checkUnlessProven } from "../../engine/index.js";
import { messageOf } from "../../errors.js";
import { httpGet } from "../../util/index.js";
import type { Failure } from "../external.js";
import { port, secret, serviceSchema, withExternal } from "../fields.js";
import { PROBE_TIMEOUT_MS, defineService, type ExternalTarget, type FactSource, type ServiceContext } from "../service.js";
import { qdrantSnapshot } from "./snapshot.js";

/** `qdrant.external`: a Qdrant dify-local does not run (Qdrant Cloud, a server of your own), by its REST URL. */
export const qdrantExternalSchema = z
  .object({
    url: z
      .string({ invalid_type_error: "must be a URL" })
      .regex(
        /^https?:\/\/[^\s/:]+(:\d{1,5})?\/?$/,
        "must be an http:// or https:// URL with a host and optionally a port, such as https://qdrant.internal:6333",
      ),
    /** Absent for a server without an api-key. */
    apiKey: secret.optional(),
  })
  .strict();
export type QdrantExternal = z.infer<typeof qdrantExternalSchema>;

const qdrantSection = serviceSchema(
  {
    port: port.default(6333),
    grpcPort: port.default(6334),
    apiKey: secret.default("devpassword"),
  },
  { container: "dev-qdrant", image: "qdrant/qdrant", volume: "dev-qdrant-data", restart: "unless-stopped" },
);
export const qdrantSchema = withExternal(qdrantSection, qdrantExternalSchema, ["port", "grpcPort", "apiKey"]);
export type QdrantSettings = z.infer<typeof qdrantSchema>;

export interface QdrantLive {
  /** Empty for an external server without an api-key. */
  apiKey: string;
  source: FactSource;
  /** An external server's REST URL (its scheme included). */
  url?: string;
}

/** The api-key from the container's QDRANT__SERVICE__API_KEY, else the config's. */
export function liveQdrant(c: QdrantSettings, container: { env: Record<string, string> } | undefined): QdrantLive {
  const key = container?.env.QDRANT__SERVICE__API_KEY;
  return key === undefined ? { apiKey: c.apiKey, source: "config" } : { apiKey: key, source: "container" };
}

type Ctx = ServiceContext<QdrantSettings, QdrantLive>;

export function qdrantUrl(ctx: Pick<Ctx, "host" | "settings"> & { live?: QdrantLive | undefined }): string {
  return ctx.live?.url ?? `http://${ctx.host}:${ctx.settings.port}`;
}

/** `qdrant.external` as the container code reads it; the URL's port defaults as its scheme's does. */
function externalTarget(ext: QdrantExternal, s: QdrantSettings): ExternalTarget<QdrantSettings, QdrantLive> {
  const u = new URL(ext.url);
  const p = u.port ? Number(u.port) : u.protocol === "https:" ? 443 : 80;
  // The port always written out: the cluster's probe and the chart read host:port from it.
  const url = `${u.protocol}//${u.hostname}:${p}`;
  return {
    host: u.hostname,
    port: p,
    tls: u.protocol === "https:" ? "TLS (https)" : "no TLS (http)",
    settings: { ...s, port: p, apiKey: ext.apiKey ?? "" },
    live: { apiKey: ext.apiKey ?? "", source: "external", url },
  };
}

/** Qdrant's own part of a failure: the api-key refused (401, 403). */
export function qdrantFailure(err: unknown): Failure | undefined {
  const status = (err as { status?: unknown }).status;
  if (status === 401 || status === 403) return { kind: "auth", answer: `HTTP ${status}: the api-key was refused (${messageOf(err)})` };
  return undefined;
}

/** A Qdrant client for the local container (or the external server); the library is loaded on first use. */
export async function qdrantClient(
  ctx: Pick<Ctx, "host" | "settings"> & { live?: QdrantLive | undefined },
  timeoutMs = PROBE_TIMEOUT_MS,
): Promise<QdrantClient> {
  const { QdrantClient } = await import("@qdrant/js-client-rest");
  // The key goes in as a header: the client's `apiKey` option prints a warning over plain HTTP,
  // which a loopback connection to a local container is by design. The compatibility check is a
  // version round trip per client; we only need the data calls.
  return new QdrantClient({
    url: qdrantUrl(ctx),
    headers: ctx.settings.apiKey ? { "api-key": ctx.settings.apiKey } : {},
    checkCompatibility: false,
    timeout: timeoutMs,
  });
}

/**
 * `GET /collections` with the api-key: the lightest call that proves the server answers and takes
 * the key (readiness, status, verify). A plain GET through Node's HTTP client (util/http.ts), not
 * the client library, which runs on `fetch`: its first use costs a process about 40 ms of CPU,
 * more than the rest of such a probe. Snapshots, which do more than one call, keep the client.
 * A refusal carries its status, as the client's errors do (`qdrantFailure`).
 */
async function listCollections(ctx: Pick<Ctx, "host" | "settings"> & { live?: QdrantLive | undefined }): Promise<void> {
  const key = ctx.settings.apiKey;
  const res = await httpGet(`${qdrantUrl(ctx)}/collections`, { timeoutMs: PROBE_TIMEOUT_MS, headers: key ? { "api-key": key } : {} });
  if (res.status !== 200)
    throw Object.assign(new Error(`GET /collections answered ${res.status}: ${res.body.slice(0, 200)}`), { status: res.status });
}

export const qdrant = defineService<typeof qdrantSchema, QdrantLive>({
  name: "qdrant",
  title: "Qdrant",
  schema: qdrantSchema,
  container: {
    dataDir: "/qdrant/storage",
    ports: (c) => [
      { containerPort: 6333, hostPort: c.port, key: "port" },
      { containerPort: 6334, hostPort: c.grpcPort, key: "grpcPort" },
    ],
    env: (c) => ({ QDRANT__SERVICE__API_KEY: c.apiKey }),
  },
  live: liveQdrant,
  proves: { probe: ["qdrant.auth"] },
  async probe(ctx) {
    await listCollections(ctx);
  },
  async checks(ctx) {
    const auth = checkUnlessProven(
      ctx.proven,
      "qdrant.auth",
      `Qdrant on ${qdrantUrl(ctx)}${ctx.external ? " (external)" : ""} lists collections${ctx.settings.apiKey ? " with the api-key" : ""}`,
      ctx.external ? "check qdrant.external (url, apiKey)" : "check qdrant.apiKey; `dify-local up` recreates a drifted container",
      async () => {
        await listCollections(ctx);
      },
    );
    // Without a key there is nothing to refuse; an external server's policy is its owner's.
    if (ctx.external && !ctx.settings.apiKey) return [await auth];
    return Promise.all([
      auth,
      check(
        "qdrant.apikey-required",
        "Qdrant refuses requests without the api-key (401)",
        ctx.external
          ? "the server accepts requests without its api-key: turn its key on"
          : "`dify-local up` recreates the container with QDRANT__SERVICE__API_KEY",
        async () => {
          const res = await httpGet(`${qdrantUrl(ctx)}/collections`, { timeoutMs: PROBE_TIMEOUT_MS });
          if (res.status !== 401 && res.status !== 403) throw new Error(`GET /collections without the key answered ${res.status}`);
        },
      ),
    ]);
  },
  endpoints: (c, h) => [
    { label: "HTTP", host: `http://${h.host}:${c.port}`, cluster: `http://${h.cluster}:${c.port}` },
    { label: "gRPC", host: `${h.host}:${c.grpcPort}`, cluster: `${h.cluster}:${c.grpcPort}` },
  ],
  credentials: (_c, live) => [{ label: "api key", value: live.apiKey, secret: true }],
  values: (c, live, o) => ({
    vectorDB: {
      useExternal: true,
      externalType: "qdrant",
      externalQdrant: { endpoint: live.url ?? `http://${o.host}:${c.port}`, apiKey: live.apiKey },
    },
    qdrant: { enabled: false },
  }),
  env: (c, live, host) => [
    {
      title: "Vector store",
      entries: [
        ["VECTOR_STORE", "qdrant"],
        ["QDRANT_URL", live.url ?? `http://${host}:${c.port}`],
        ["QDRANT_API_KEY", live.apiKey],
      ],
    },
  ],
  snapshot: qdrantSnapshot,
  external: {
    connect: externalTarget,
    endpoints: (t) => [{ label: "HTTP", host: t.live.url ?? "", cluster: t.live.url ?? "" }],
    classify: qdrantFailure,
  },
});
