import { certsDRefusal, nodesIgnoringCertsD, patchNodeContainerd } from "../containerd-nodes.js";
import { CERTS_D } from "../files.js";
import { changed, type ClusterAction } from "./action.js";

/**
 * Every node's containerd must read the hosts.toml files in certs.d (its CRI `config_path`), or
 * the wiring that follows is silently ignored. A cluster made elsewhere on an older node image may
 * lack it: without `--patch-containerd` this stops `up` before anything changes in the nodes; with
 * it, the nodes are patched one at a time, each Ready again before the next.
 */
export const checkContainerd: ClusterAction = {
  name: "cluster containerd",
  async run({ cluster, patchContainerd }) {
    const lacking = await nodesIgnoringCertsD(cluster);
    if (lacking.length === 0) return { changes: [], detail: `every node reads ${CERTS_D}` };
    if (!patchContainerd || lacking.some((l) => l.settings.conflicts.length)) throw certsDRefusal(cluster, lacking);
    const changes: string[] = [];
    for (const { node } of lacking) {
      changes.push(await patchNodeContainerd(cluster, node));
      await (await cluster.kube()).waitNodesReady((await cluster.nodes()).length, cluster.config.cluster.readyTimeout);
    }
    return changed(changes);
  },
};
