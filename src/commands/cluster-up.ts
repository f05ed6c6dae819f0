import { kind, kindConfig, kindNodes, KubeApi, KIND_NETWORK, wireApi, wireNode, type HostAlias } from "../cluster/index.js";
import { step } from "../engine/index.js";
import type { Context } from "./context.js";

/** Creates the kind cluster when missing (never deletes one) and waits for its nodes to be Ready. */
export async function convergeCluster(ctx: Context, changes: string[]): Promise<KubeApi> {
  const { config, sink, runtime } = ctx;
  const name = config.cluster.name;
  const expected = 1 + config.cluster.workers;
  await step(sink, "cluster create", async () => {
    if ((await kind.clusters()).includes(name)) {
      const nodes = await kindNodes(runtime, name);
      if (nodes.length !== expected) {
        return `kept ${name}: it has ${nodes.length} nodes, config wants ${expected}; kind cannot resize a cluster (dify-local down, then up, recreates it)`;
      }
      return `kept ${name} (exists)`;
    }
    await kind.create(name, kindConfig(config));
    changes.push(`cluster ${name}: created`);
    return `created ${name}`;
  }, (d) => d);
  const kube = await KubeApi.open(await kind.kubeconfig(name), `kind-${name}`);
  const present = (await kindNodes(runtime, name)).length;
  await step(sink, "cluster ready", () => kube.waitNodesReady(Math.min(expected, present || expected), config.cluster.readyTimeout), (nodes) =>
    `${nodes.length} nodes Ready`,
  );
  return kube;
}

/**
 * Makes every node pull from the local registry over HTTP and, on Linux, resolve the host alias;
 * connects the registry to the kind network; applies the API-side wiring. Idempotent: what is
 * already right is read (never rewritten).
 */
export async function wireCluster(ctx: Context, kube: KubeApi, alias: HostAlias, changes: string[]): Promise<void> {
  const { config, sink, runtime } = ctx;
  await step(sink, "cluster wiring", async () => {
    const made: string[] = [];
    const nodes = (await kindNodes(runtime, config.cluster.name)).filter((n) => n.running);
    for (const perNode of await Promise.all(nodes.map((n) => wireNode(runtime, n, config, alias)))) made.push(...perNode);
    if (config.registry.enabled && (await runtime.connectNetwork(KIND_NETWORK, config.registry.container))) {
      made.push(`connected ${config.registry.container} to the ${KIND_NETWORK} network`);
    }
    made.push(...(await wireApi(kube, config, alias)));
    changes.push(...made);
    return made;
  }, (made) => (made.length ? made.join("; ") : "nothing to do"));
}
