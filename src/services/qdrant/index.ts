import { QdrantClient } from "@qdrant/js-client-rest";
import { CLUSTER_HOST, PROBE_TIMEOUT_MS, check, probeHost, withTimeout, type Component, type ServiceContext } from "../component.js";

function url(ctx: ServiceContext): string {
  return `http://${ctx.host}:${ctx.config.qdrant.port}`;
}

function client(ctx: ServiceContext): QdrantClient {
  // The key goes in as a header: the client's `apiKey` option prints a warning over plain HTTP,
  // which a loopback connection to a local container is by design. The compatibility check is a
  // version round trip per client; we only need the data calls.
  return new QdrantClient({ url: url(ctx), headers: { "api-key": ctx.config.qdrant.apiKey }, checkCompatibility: false, timeout: PROBE_TIMEOUT_MS });
}

export const qdrant: Component = {
  name: "qdrant",
  title: "Qdrant",
  spec(config) {
    const c = config.qdrant;
    return {
      component: "qdrant",
      name: c.container,
      image: c.image,
      env: { QDRANT__SERVICE__API_KEY: c.apiKey },
      ports: [
        { containerPort: 6333, hostPort: c.port, hostIp: config.bind, key: "qdrant.port" },
        { containerPort: 6334, hostPort: c.grpcPort, hostIp: config.bind, key: "qdrant.grpcPort" },
      ],
      volumes: [{ volume: c.volume, target: "/qdrant/storage" }],
      restart: c.restart,
    };
  },
  async probe(ctx) {
    await withTimeout("GET /collections", PROBE_TIMEOUT_MS, client(ctx).getCollections());
  },
  async checks(ctx) {
    return [
      await check("qdrant.auth", `Qdrant on ${url(ctx)} lists collections with the api-key`, "check qdrant.apiKey; `dify-local up` recreates a drifted container", async () => {
        await withTimeout("GET /collections", PROBE_TIMEOUT_MS, client(ctx).getCollections());
      }),
      await check("qdrant.apikey-required", "Qdrant refuses requests without the api-key (401)", "`dify-local up` recreates the container with QDRANT__SERVICE__API_KEY", async () => {
        // A plain request on purpose: the client library always sends the key.
        const res = await fetch(`${url(ctx)}/collections`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
        if (res.status !== 401 && res.status !== 403) throw new Error(`GET /collections without the key answered ${res.status}`);
      }),
    ];
  },
  endpoints(config) {
    const c = config.qdrant;
    const h = probeHost(config);
    return [
      { label: "HTTP", host: `http://${h}:${c.port}`, cluster: `http://${CLUSTER_HOST}:${c.port}` },
      { label: "gRPC", host: `${h}:${c.grpcPort}`, cluster: `${CLUSTER_HOST}:${c.grpcPort}` },
    ];
  },
  credentials(config) {
    return [{ label: "api key", value: config.qdrant.apiKey, secret: true }];
  },
};
