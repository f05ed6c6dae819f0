export { Kind, runKind, parseKindVersion, versionAtLeast, MIN_KIND_VERSION, KIND_INSTALL_HINT } from "./kind.js";
export type { KindRunner, RunResult } from "./kind.js";
export { KubeApi, FIELD_MANAGER } from "./kube.js";
export type { NodeReadiness, ConfigMapData, ObjectRef, DeploymentState } from "./kube.js";
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
  CLUSTER_ADDON_ACTIONS,
  installIngress,
  manifestLabel,
  createCluster,
  waitNodesReady,
  wireNodes,
  connectRegistry,
  wireClusterApi,
  checkContainerd,
} from "./actions/index.js";
export type { ClusterAction, ClusterActionContext, ActionResult } from "./actions/index.js";
export { nodeProxyEnv, bothCases, nodeProxyFinding } from "./proxy.js";
export type { ProxyEnv } from "./proxy.js";
export {
  INGRESS_NGINX,
  INGRESS_NODE_LABEL,
  loadManifest,
  manifestSource,
  manifestClasses,
  parseManifest,
  pinToIngressNode,
  sha256Hex,
} from "./ingress/manifest.js";
export type { IngressManifest, ManifestObject, ManifestSource } from "./ingress/manifest.js";
export { INGRESS_RECORD, readRecord, recordWorkloads, installedClass, describeObject } from "./ingress/install.js";
export type { IngressRecord } from "./ingress/install.js";
export { ingressState } from "./ingress/detect.js";
export type { IngressState } from "./ingress/detect.js";
export { askIngress, waitIngressAnswers } from "./ingress/answer.js";
export type { IngressAnswer } from "./ingress/answer.js";
export { podProblem, workloadProblems } from "./ingress/wait.js";
export { registrySettings, withConfigPath, CONTAINERD_CONFIG, CONTAINERD_CONFIG_BACKUP } from "./containerd.js";
export type { RegistrySettings } from "./containerd.js";
export {
  nodeRegistrySettings,
  nodesIgnoringCertsD,
  certsDRefusal,
  certsDWhy,
  certsDDetail,
  certsDFix,
  patchNodeContainerd,
  patchable,
} from "./containerd-nodes.js";
export type { NodeContainerd } from "./containerd-nodes.js";
export {
  ExistingCluster,
  existingClusterChecks,
  reachIds,
  loadKubeconfig,
  selectContext,
  kubeconfigFiles,
  PROBE_LABELS,
  PROBE_SELECTOR,
  PROBE_SCRIPT,
  endpointAddress,
  probeJob,
  parseProbeLog,
  runProbe,
} from "./existing/index.js";
export type { ExistingChecksOptions, ContextTarget, ProbeTarget, ProbeOutcome, ProbeOptions } from "./existing/index.js";
