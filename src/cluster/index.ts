export { kind, runKind, parseKindVersion, versionAtLeast, MIN_KIND_VERSION, KIND_INSTALL_HINT } from "./kind.js";
export { KubeApi } from "./kube.js";
export type { NodeReadiness } from "./kube.js";
export { kindConfig, clusterPorts, hostsToml, registryHosts, localRegistryHosting, corefileWithHost, corefileHost, etcHostsWithAlias, HOST_ALIAS, CERTS_D } from "./files.js";
export { KIND_LABELS, KIND_NETWORK, resolveHostAlias, gatewayBindings, kindNodes, wireNode, wireApi } from "./wiring.js";
export type { HostAlias } from "./wiring.js";
export { clusterChecks, hostServicePorts } from "./checks.js";
