import { timed } from "../util/timings.js";

/**
 * A library command module, loaded when its command runs: `--help` and argument errors never load
 * the library (nor the client libraries behind it). A span `load command` with --timings.
 */
export function loadCommand<T>(load: () => Promise<T>): Promise<T> {
  return timed("load command", load);
}
