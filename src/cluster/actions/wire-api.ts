import { wireApi } from "../wiring.js";
import { changed, type ClusterAction } from "./action.js";

/** The API side: the KEP-1755 ConfigMap and, on Linux, CoreDNS resolving the host alias. */
export const wireClusterApi: ClusterAction = {
  name: "cluster api",
  async run({ cluster, alias }) {
    return changed(await wireApi(await cluster.kube(), cluster.config, alias));
  },
};
