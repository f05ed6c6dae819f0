export { runAction } from "./action.js";
export type { ClusterAction, ClusterActionContext, ActionResult } from "./action.js";
export { createCluster } from "./create.js";
export { waitNodesReady } from "./wait-ready.js";
export { wireNodes } from "./wire-nodes.js";
export { connectRegistry } from "./connect-registry.js";
export { checkContainerd } from "./containerd.js";
export { wireClusterApi } from "./wire-api.js";
export { installIngress, manifestLabel } from "./install-ingress.js";

import type { ClusterAction } from "./action.js";
import { connectRegistry } from "./connect-registry.js";
import { checkContainerd } from "./containerd.js";
import { createCluster } from "./create.js";
import { installIngress } from "./install-ingress.js";
import { waitNodesReady } from "./wait-ready.js";
import { wireClusterApi } from "./wire-api.js";
import { wireNodes } from "./wire-nodes.js";

/** Bringing the cluster up: first these, one after the other... */
export const CLUSTER_CREATE_ACTIONS: readonly ClusterAction[] = [createCluster, waitNodesReady, checkContainerd];
/** ...then, once the registry container is up too, these, side by side. */
export const CLUSTER_WIRE_ACTIONS: readonly ClusterAction[] = [wireNodes, connectRegistry, wireClusterApi];
/** ...and last, once the nodes pull and resolve as they should, the ingress controller. */
export const CLUSTER_ADDON_ACTIONS: readonly ClusterAction[] = [installIngress];
