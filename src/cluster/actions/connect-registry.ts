import { KIND_NETWORK } from "../wiring.js";
import { changed, type ClusterAction } from "./action.js";

/** Joins the registry container to the `kind` network, so nodes can reach it by name too. */
export const connectRegistry: ClusterAction = {
  name: "cluster registry",
  async run({ cluster }) {
    const { registry } = cluster.config;
    if (!registry.enabled) return { changes: [], detail: "the registry is disabled" };
    if (registry.external) return { changes: [], detail: "the registry is external (registry.external): no container to connect" };
    const joined = await cluster.runtime.connectNetwork(KIND_NETWORK, registry.container);
    return changed(joined ? [`connected ${registry.container} to the ${KIND_NETWORK} network`] : []);
  },
};
