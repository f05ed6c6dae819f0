import type { EngineConnecting } from "../runtime/index.js";
import { timed } from "../util/timings.js";

/**
 * A library command module, loaded when its command runs: `--help` and argument errors never load
 * the library (nor the client libraries behind it). A span `load command` with --timings.
 */
export function loadCommand<T>(load: () => Promise<T>): Promise<T> {
  return timed("load command", load);
}

/**
 * One command of the library, loaded from its own module (not the library's index, which holds
 * every command: the bundle gives each module its own chunk, so `status` does not parse `up`'s or
 * `snapshot`'s code), behind the library's redaction point as the index exports it (`redacting`).
 */
export function loadRedacted<M, K extends keyof M>(load: () => Promise<M>, name: K): Promise<M[K]> {
  return timed("load command", async () => {
    const [module, { redacting }] = await Promise.all([load(), import("../stack/redaction.js")]);
    return redacting(module[name] as (options: never) => Promise<unknown>) as M[K];
  });
}

/**
 * Starts connecting to the engine (`connectEarly`: its ping, and with `identify` its id for the
 * lock of `up` and `down`) before the command's code is loaded, so the engine answers while that
 * loads. Called once the flags are known to be good; the configuration is still read first.
 */
export async function connectFirst(identify: boolean): Promise<EngineConnecting> {
  const { connectEarly } = await import("../runtime/connect.js");
  return connectEarly(process.env, identify);
}
