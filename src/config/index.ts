export { loadConfig, parseConfig, parseConfigText, DEFAULT_CONFIG_FILE } from "./load.js";
export type { LoadConfigOptions, LoadedConfig, ConfigSchema } from "./load.js";
export { configSchema, configSchemaFor, clusterSchema } from "./schema.js";
export type { Config, ConfigInput } from "./schema.js";
export { PROBE_IMAGE } from "./schema.js";
export { clusterMode, existingContext, productionLike, contextWords, localServices } from "./cluster-mode.js";
export type { ClusterMode } from "./cluster-mode.js";
