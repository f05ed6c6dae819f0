import type { HelmSecrets } from "../../src/helm/index.js";

/** Chart secrets with recognisable values, for the unit tests that render Helm values. */
export const TEST_CHART_SECRETS: HelmSecrets = {
  appSecretKey: "app-key",
  enterpriseAppSecretKey: "ent-key",
  adminAPIsSecretKeySalt: "salt",
  passwordEncryptionKey: "aes-key",
  innerApiKey: "inner-key",
  apiInnerApiKey: "api-inner",
  sandboxApiKey: "sandbox-key",
  pluginDaemonApiKey: "daemon-key",
  pluginConnectorApiKey: "connector-key",
  enterpriseInnerApiKey: "ent-inner",
};
