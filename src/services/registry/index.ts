import { CLUSTER_HOST, PROBE_TIMEOUT_MS, check, probeHost, type Component, type ServiceContext } from "../component.js";

function base(ctx: Pick<ServiceContext, "host" | "config">): string {
  return `http://${ctx.host}:${ctx.config.registry.port}`;
}

/** The registry's repositories (`GET /v2/_catalog`), following pagination. */
export async function catalog(ctx: Pick<ServiceContext, "host" | "config">): Promise<string[]> {
  const repos: string[] = [];
  let next: string | undefined = "/v2/_catalog?n=1000";
  while (next) {
    const res: Response = await fetch(new URL(next, base(ctx)), { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    if (!res.ok) throw new Error(`GET /v2/_catalog answered ${res.status}`);
    const body = (await res.json()) as { repositories?: string[] };
    repos.push(...(body.repositories ?? []));
    const link = res.headers.get("link");
    next = link?.match(/<([^>]+)>;\s*rel="next"/)?.[1];
  }
  return repos;
}

/** Tags of one repository (`GET /v2/<name>/tags/list`). */
export async function tags(ctx: Pick<ServiceContext, "host" | "config">, repo: string): Promise<string[]> {
  const res = await fetch(`${base(ctx)}/v2/${repo}/tags/list`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
  if (res.status === 404) return [];
  if (!res.ok) throw new Error(`GET /v2/${repo}/tags/list answered ${res.status}`);
  const body = (await res.json()) as { tags?: string[] | null };
  return body.tags ?? [];
}

export const registry: Component = {
  name: "registry",
  title: "Registry",
  spec(config) {
    const c = config.registry;
    return {
      component: "registry",
      name: c.container,
      image: c.image,
      env: {},
      ports: [{ containerPort: 5000, hostPort: c.port, hostIp: config.bind, key: "registry.port" }],
      volumes: [{ volume: c.volume, target: "/var/lib/registry" }],
      restart: c.restart,
    };
  },
  async probe(ctx) {
    const res = await fetch(`${base(ctx)}/v2/`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    if (res.status !== 200) throw new Error(`GET /v2/ answered ${res.status}`);
  },
  async checks(ctx) {
    return [
      await check("registry.catalog", `registry on ${base(ctx)} answers /v2/_catalog`, "run `dify-local up`; if the port is taken by AirPlay (macOS, port 5000), keep registry.port at 5050", async () => {
        const repos = await catalog(ctx);
        return `${repos.length} repositories`;
      }),
    ];
  },
  endpoints(config) {
    const p = config.registry.port;
    return [{ label: "Registry", host: `http://${probeHost(config)}:${p}`, cluster: `http://${CLUSTER_HOST}:${p}` }];
  },
  credentials() {
    return [];
  },
};
