/** Helm values (and the community .env): the values tree, the stack-wide keys, merging into a user's values.yaml, the chart secrets. */
export {
  globalValues,
  composeValues,
  valuesYaml,
  flattenValues,
  valueAt,
  formatKeyPath,
  detectChart,
  parseChart,
  CHART_VERSIONS,
  DEFAULT_CHART,
  VALUES_MARKER,
} from "./values.js";
export type { ChartVersion, ValuesTree, ValuesLeaf, ValuesEntry } from "./values.js";
export { renderEnv, envValue, ENV_MARKER } from "./env.js";
export type { EnvSection } from "./env.js";
export { DIFY_DOMAINS } from "./domains.js";
export type { DifyDomain } from "./domains.js";
export { loadOrCreateSecrets, readChartSecrets, userConfigDir, writePrivateFile, SECRETS_FILE } from "./secrets.js";
export type { HelmSecrets, LoadedSecrets } from "./secrets.js";
export { mergeValuesFile, mergeValuesText, loadValuesFile } from "./merge.js";
export type { MergeResult, ValuesFile } from "./merge.js";
