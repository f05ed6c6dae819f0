export { loadConfig, parseConfig, parseConfigText, DEFAULT_CONFIG_FILE } from "./load.js";
export type { LoadConfigOptions, LoadedConfig } from "./load.js";
export { configSchema, SERVICE_NAMES } from "./schema.js";
export type { Config, ConfigInput, ServiceName } from "./schema.js";
export { DIFY_DOMAINS } from "./domains.js";
export type { DifyDomain } from "./domains.js";
