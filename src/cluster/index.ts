export { Kind, runKind, parseKindVersion, versionAtLeast, MIN_KIND_VERSION, KIND_INSTALL_HINT } from "./kind.js";
export type { KindRunner, RunResult } from "./kind.js";
export { KubeApi } from "./kube.js";
export type { NodeReadiness, ConfigMapData, DeploymentState } from "./kube.js";
export { rolloutMissing } from "./kube.js";
export { Cluster, CREATED_MARKER } from "./cluster.js";
export {
  kindConfig,
  clusterPorts,
  hostsToml,
  registryHosts,
  localRegistryHosting,
  corefileWithHost,
  corefileHost,
  etcHostsWithAlias,
  HOST_ALIAS,
  CERTS_D,
} from "./files.js";
export { KIND_LABELS, KIND_NETWORK, resolveHostAlias, gatewayBindings, wireNode, wireApi } from "./wiring.js";
export type { HostAlias } from "./wiring.js";
export { clusterChecks } from "./checks.js";
export type { ServicePort } from "./checks.js";
export {
  runAction,
  CLUSTER_CREATE_ACTIONS,
  CLUSTER_WIRE_ACTIONS,
  createCluster,
  waitNodesReady,
  wireNodes,
  connectRegistry,
  wireClusterApi,
} from "./actions/index.js";
export type { ClusterAction, ClusterActionContext, ActionResult } from "./actions/index.js";
export { nodeProxyEnv, bothCases, nodeProxyFinding } from "./proxy.js";
export type { ProxyEnv } from "./proxy.js";
