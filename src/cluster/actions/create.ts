import { kindConfig } from "../files.js";
import { bothCases, nodeProxyEnv } from "../proxy.js";
import { KIND_NETWORK } from "../wiring.js";
import type { ClusterAction } from "./action.js";

/** Creates the kind cluster when it is missing; never deletes or resizes one. */
export const createCluster: ClusterAction = {
  name: "cluster create",
  async run({ cluster }) {
    const { name, config } = cluster;
    if (await cluster.exists()) {
      const expected = 1 + config.cluster.workers;
      const nodes = await cluster.nodes();
      const ours = await cluster.createdByDifyLocal();
      const kept = ours ? `kept ${name} (exists)` : `kept ${name} (exists; not created by dify-local, so down leaves it alone)`;
      const detail =
        nodes.length === expected
          ? kept
          : `${kept}: it has ${nodes.length} nodes, config wants ${expected}; kind cannot resize a cluster (dify-local down${ours ? "" : " --delete-cluster"}, then up, recreates it)`;
      return { changes: [], detail };
    }
    const proxy = nodeProxyEnv(config, process.env, await cluster.runtime.networkSubnet(KIND_NETWORK));
    await cluster.kind.create(name, kindConfig(config), bothCases(proxy));
    cluster.forget();
    // Marked at once: `down` deletes only a cluster dify-local made.
    await cluster.markCreated();
    const via = proxy.HTTPS_PROXY ?? proxy.HTTP_PROXY;
    return { changes: [`cluster ${name}: created`], detail: `created ${name}${via ? ` (nodes pull through ${via})` : ""}` };
  },
};
