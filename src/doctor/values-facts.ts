import { UserError } from "../errors.js";
import { DEFAULT_CHART, detectChart, flattenValues, loadValuesFile } from "../helm/index.js";
import { serviceValues, type LiveStack } from "../stack/index.js";
import type { ValuesFacts } from "./types.js";

const SECRET_KEY = /password|secret|apikey/i;

/**
 * Reads a user's values.yaml (a YAML error is bad input: exit 2, naming file:line) and what the
 * live stack says its infrastructure keys must be (the services' keys; secrets and ingress are
 * the user's to choose), in the file's own chart line.
 */
export async function readValuesFacts(file: string, live: LiveStack): Promise<ValuesFacts> {
  let data: unknown;
  try {
    ({ data } = await loadValuesFile(file));
  } catch (err) {
    // The loader's hints speak of --merge; here the file is only read.
    if (err instanceof UserError) throw new UserError(err.message, { key: "--values", hint: "pass the values.yaml you give helm with -f" });
    throw err;
  }
  const chart = detectChart(data) ?? DEFAULT_CHART;
  const expected = flattenValues(serviceValues(live, chart)).map((e) => ({
    path: e.path,
    value: e.value,
    secret: e.path.some((p) => SECRET_KEY.test(p)),
  }));
  return { file, data, expected };
}
