import { OperationError } from "../errors.js";

/**
 * Settles as `work` does, or rejects with an {@link OperationError} when the process has nothing
 * left to run (no socket, timer or child) while `work` is still pending: a call whose connection
 * closed without an answer, in a library that never noticed, can never settle then. Without this,
 * Node would end such a process quietly (the bin is CommonJS: an ES module bin ended with exit
 * code 13 and a warning about an "unsettled top-level await"); with it, the one top-level handler
 * reports it like any failure (exit 1, `--json` too).
 * Node emits `beforeExit` only when its event loop is empty, so a command still working is never
 * cut short.
 */
export function orStalled<T>(work: Promise<T>): Promise<T> {
  let onIdle = (): void => undefined;
  const stalled = new Promise<never>((_resolve, reject) => {
    onIdle = () =>
      reject(
        new OperationError("the command stopped: it was waiting for an answer that can no longer come (a connection closed without one)", {
          hint: "run the command again; if it happens again, run it with --verbose and report the output",
        }),
      );
    process.once("beforeExit", onIdle);
  });
  return Promise.race([work, stalled]).finally(() => process.removeListener("beforeExit", onIdle));
}
