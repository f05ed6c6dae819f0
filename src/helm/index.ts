/** Helm values (and the community .env) rendered from the running stack, and merged into a user's values.yaml. */
export { readLiveFacts, factsFrom, factSources, requirepass, DATABASE_ROLES } from "./facts.js";
export type { LiveFacts, FactSource, ContainerState, CredentialService, DatabaseRole } from "./facts.js";
export {
  renderValues,
  valuesYaml,
  flattenValues,
  valueAt,
  formatKeyPath,
  valuesKeyPaths,
  detectChart,
  parseChart,
  CHART_VERSIONS,
  DEFAULT_CHART,
  VALUES_MARKER,
} from "./values.js";
export type { ChartVersion, ValuesTree, ValuesLeaf, ValuesEntry, RenderValuesOptions } from "./values.js";
export { renderEnv, envValue, ENV_MARKER } from "./env.js";
export { loadOrCreateSecrets, userConfigDir, writePrivateFile, SECRETS_FILE } from "./secrets.js";
export type { HelmSecrets, LoadedSecrets } from "./secrets.js";
export { mergeValuesFile, mergeValuesText, loadValuesFile } from "./merge.js";
export type { MergeResult, ValuesFile } from "./merge.js";
