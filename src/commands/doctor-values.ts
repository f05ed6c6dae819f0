import type { Config } from "../config/index.js";
import type { ValuesFacts } from "../doctor/index.js";
import { UserError } from "../errors.js";
import { DEFAULT_CHART, detectChart, factsFrom, flattenValues, loadValuesFile, renderValues } from "../helm/index.js";
import type { ObservedContainer } from "../runtime/index.js";

/** The top-level keys that describe the infrastructure; secrets and ingress are the user's to choose. */
const INFRA_KEYS = new Set(["externalPostgres", "externalDatabase", "externalRedis", "persistence", "vectorDB", "plugin_connector", "postgresql", "redis", "qdrant", "minio"]);
const SECRET_KEY = /password|secret|apikey/i;
// renderValues wants chart secrets; the doctor compares no secret-key leaves, so placeholders do.
const UNUSED_SECRETS = { appSecretKey: "", enterpriseAppSecretKey: "", adminAPIsSecretKeySalt: "", passwordEncryptionKey: "" };

/**
 * Reads a user's values.yaml (a YAML error is bad input: exit 2, naming file:line) and what the
 * live stack says its infrastructure keys must be, in the file's own chart line.
 */
export async function readValuesFacts(file: string, config: Config, observed: ReadonlyMap<string, ObservedContainer>): Promise<ValuesFacts> {
  let data: unknown;
  try {
    ({ data } = await loadValuesFile(file));
  } catch (err) {
    // The loader's hints speak of --merge; here the file is only read.
    if (err instanceof UserError) throw new UserError(err.message, { key: "--values", hint: "pass the values.yaml you give helm with -f" });
    throw err;
  }
  const chart = detectChart(data) ?? DEFAULT_CHART;
  const rendered = renderValues(factsFrom(config, observed), { chart, secrets: UNUSED_SECRETS });
  const expected = flattenValues(rendered)
    .filter((e) => INFRA_KEYS.has(e.path[0] ?? ""))
    .map((e) => ({ path: e.path, value: e.value, secret: e.path.some((p) => SECRET_KEY.test(p)) }));
  return { file, data, expected };
}
