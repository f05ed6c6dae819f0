export { ExistingCluster, existingClusterChecks, reachIds } from "./existing.js";
export type { ExistingChecksOptions } from "./existing.js";
export { loadKubeconfig, selectContext, kubeconfigFiles } from "./kubeconfig.js";
export type { ContextTarget } from "./kubeconfig.js";
export { PROBE_LABELS, PROBE_SELECTOR, PROBE_SCRIPT, endpointAddress, probeJob, parseProbeLog, runProbe } from "./probe.js";
export type { ProbeTarget, ProbeOutcome, ProbeOptions } from "./probe.js";
