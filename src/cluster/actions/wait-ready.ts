import type { ClusterAction } from "./action.js";

/** Waits until every node is Ready through the Kubernetes API. */
export const waitNodesReady: ClusterAction = {
  name: "cluster ready",
  async run({ cluster }) {
    const expected = 1 + cluster.config.cluster.workers;
    // A cluster kept at another size is waited on as it is (create said so).
    const present = (await cluster.nodes()).length;
    const kube = await cluster.kube();
    const nodes = await kube.waitNodesReady(Math.min(expected, present || expected), cluster.config.cluster.readyTimeout);
    return { changes: [], detail: `${nodes.length} nodes Ready` };
  },
};
