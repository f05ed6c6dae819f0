import { wireNode } from "../wiring.js";
import { changed, type ClusterAction } from "./action.js";

/**
 * Makes every running node pull from the local registry over HTTP (hosts.toml) and, on Linux,
 * resolve the host alias. What is already right is read, never rewritten.
 */
export const wireNodes: ClusterAction = {
  name: "cluster nodes",
  async run({ cluster, alias }) {
    const nodes = (await cluster.nodes()).filter((n) => n.running);
    const perNode = await Promise.all(nodes.map((n) => wireNode(cluster.runtime, n, cluster.config, alias)));
    return changed(perNode.flat());
  },
};
