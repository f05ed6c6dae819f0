import { OperationError, messageOf } from "../../errors.js";
import type { Cluster } from "../cluster.js";
import { certsDRefusal, nodesIgnoringCertsD, patchable, patchNodeContainerd } from "../containerd-nodes.js";
import { CERTS_D } from "../files.js";
import { changed, type ClusterAction } from "./action.js";

/**
 * Every node's containerd must read the hosts.toml files in certs.d (its CRI `config_path`), or
 * the wiring that follows is silently ignored. A cluster made elsewhere on an older node image may
 * lack it: without `--patch-containerd` this stops `up` before anything changes in the nodes; with
 * it, the nodes are patched one at a time, each Ready again before the next is touched.
 */
export const checkContainerd: ClusterAction = {
  name: "cluster containerd",
  async run({ cluster, patchContainerd }) {
    const lacking = await nodesIgnoringCertsD(cluster);
    if (lacking.length === 0) return { changes: [], detail: `every node reads ${CERTS_D}` };
    if (!patchContainerd || !patchable(lacking)) throw certsDRefusal(cluster, lacking);
    const changes: string[] = [];
    for (const [i, { node }] of lacking.entries()) {
      changes.push(await patchNodeContainerd(cluster, node));
      await readyAgain(
        cluster,
        node.name,
        lacking.slice(i + 1).map((l) => l.node.name),
      );
    }
    return changed(changes);
  },
};

/** Every node Ready through the API after a restart; a timeout says which nodes were left unpatched. */
async function readyAgain(cluster: Cluster, restarted: string, rest: readonly string[]): Promise<void> {
  try {
    await (await cluster.kube()).waitNodesReady((await cluster.nodes()).length, cluster.config.cluster.readyTimeout);
  } catch (err) {
    const left = rest.length ? `; ${rest.join(", ")} ${rest.length === 1 ? "was" : "were"} not patched` : "";
    throw new OperationError(`after containerd's restart in ${restarted}: ${messageOf(err)}${left}`, {
      hint: `kubectl describe node ${restarted} --context ${cluster.contextName}; once it is Ready, \`dify-local up --patch-containerd\` continues`,
      cause: err,
    });
  }
}
