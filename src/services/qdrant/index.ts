import type { QdrantClient } from "@qdrant/js-client-rest";
import type { z } from "zod";
import { check } from "../../engine/index.js";
import { withTimeout } from "../../util/index.js";
import { port, secret, serviceSchema } from "../fields.js";
import { PROBE_TIMEOUT_MS, defineService, type FactSource, type ServiceContext } from "../service.js";
import { qdrantSnapshot } from "./snapshot.js";

export const qdrantSchema = serviceSchema(
  {
    port: port.default(6333),
    grpcPort: port.default(6334),
    apiKey: secret.default("devpassword"),
  },
  { container: "dev-qdrant", image: "qdrant/qdrant", volume: "dev-qdrant-data", restart: "unless-stopped" },
);
export type QdrantSettings = z.infer<typeof qdrantSchema>;

export interface QdrantLive {
  apiKey: string;
  source: FactSource;
}

/** The api-key from the container's QDRANT__SERVICE__API_KEY, else the config's. */
export function liveQdrant(c: QdrantSettings, container: { env: Record<string, string> } | undefined): QdrantLive {
  const key = container?.env.QDRANT__SERVICE__API_KEY;
  return key === undefined ? { apiKey: c.apiKey, source: "config" } : { apiKey: key, source: "container" };
}

type Ctx = ServiceContext<QdrantSettings, QdrantLive>;

export function qdrantUrl(ctx: Pick<Ctx, "host" | "settings">): string {
  return `http://${ctx.host}:${ctx.settings.port}`;
}

/** A Qdrant client for the local container; the library is loaded on first use. */
export async function qdrantClient(ctx: Pick<Ctx, "host" | "settings">, timeoutMs = PROBE_TIMEOUT_MS): Promise<QdrantClient> {
  const { QdrantClient } = await import("@qdrant/js-client-rest");
  // The key goes in as a header: the client's `apiKey` option prints a warning over plain HTTP,
  // which a loopback connection to a local container is by design. The compatibility check is a
  // version round trip per client; we only need the data calls.
  return new QdrantClient({
    url: qdrantUrl(ctx),
    headers: { "api-key": ctx.settings.apiKey },
    checkCompatibility: false,
    timeout: timeoutMs,
  });
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
  clients: () => import("@qdrant/js-client-rest"),
  async probe(ctx) {
    await withTimeout("GET /collections", PROBE_TIMEOUT_MS, (await qdrantClient(ctx)).getCollections());
  },
  async checks(ctx) {
    return Promise.all([
      check(
        "qdrant.auth",
        `Qdrant on ${qdrantUrl(ctx)} lists collections with the api-key`,
        "check qdrant.apiKey; `dify-local up` recreates a drifted container",
        async () => {
          await withTimeout("GET /collections", PROBE_TIMEOUT_MS, (await qdrantClient(ctx)).getCollections());
        },
      ),
      check(
        "qdrant.apikey-required",
        "Qdrant refuses requests without the api-key (401)",
        "`dify-local up` recreates the container with QDRANT__SERVICE__API_KEY",
        async () => {
          // A plain request on purpose: the client library always sends the key.
          const res = await fetch(`${qdrantUrl(ctx)}/collections`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
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
      externalQdrant: { endpoint: `http://${o.host}:${c.port}`, apiKey: live.apiKey },
    },
    qdrant: { enabled: false },
  }),
  env: (c, live, host) => [
    {
      title: "Vector store",
      entries: [
        ["VECTOR_STORE", "qdrant"],
        ["QDRANT_URL", `http://${host}:${c.port}`],
        ["QDRANT_API_KEY", live.apiKey],
      ],
    },
  ],
  snapshot: qdrantSnapshot,
});
