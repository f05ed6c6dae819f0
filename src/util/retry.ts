/** How long to wait between attempts: a short first interval, growing by `factor` up to `maxMs`. */
export interface Backoff {
  initialMs?: number;
  maxMs?: number;
  factor?: number;
}

export interface PollOptions extends Backoff {
  /** Give up after this long. */
  timeoutMs: number;
  /** The error to throw when time is up; it may read what the last attempts saw. */
  onTimeout: () => Error | Promise<Error>;
  /** Stops the wait between attempts (and during a sleep) with the signal's reason. */
  signal?: AbortSignal | undefined;
  /** Cuts the sleep short when poked (see {@link Nudge}): the next attempt comes at once. */
  nudge?: Nudge | undefined;
}

/** After a nudge, the least time between the end of one attempt and the next, so a stream of pokes cannot make the poll spin. */
export const NUDGE_GAP_MS = 20;

/**
 * A hint that what a poll waits for may have changed (a container printed a log line): it ends
 * the poll's current sleep early. A poke while no sleep is under way is kept for the next one, so
 * a hint that arrives during an attempt is not lost.
 */
export class Nudge {
  private pending = false;
  private wake: (() => void) | undefined;

  poke(): void {
    this.pending = true;
    this.wake?.();
  }

  /** Resolves at the first poke since the last one this consumed (at once when one is pending). */
  next(): { poked: Promise<void>; cancel: () => void } {
    if (this.pending) {
      this.pending = false;
      return { poked: Promise.resolve(), cancel: () => undefined };
    }
    const poked = new Promise<void>((resolve) => {
      this.wake = () => {
        this.wake = undefined;
        this.pending = false;
        resolve();
      };
    });
    return { poked, cancel: () => (this.wake = undefined) };
  }
}

/**
 * Calls `attempt` until it returns something other than `undefined`, sleeping with backoff in
 * between; no fixed sleeps, and the first retry comes quickly. An error thrown by `attempt` ends
 * the wait at once: callers catch what is transient and return `undefined` for it.
 */
export async function pollUntil<T>(attempt: () => Promise<T | undefined>, options: PollOptions): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  const factor = options.factor ?? 1.5;
  const maxMs = options.maxMs ?? 2000;
  let delay = options.initialMs ?? 100;
  for (;;) {
    options.signal?.throwIfAborted();
    const result = await attempt();
    if (result !== undefined) return result;
    if (Date.now() + delay > deadline) throw await options.onTimeout();
    await pause(delay, options.signal, options.nudge);
    delay = Math.min(Math.round(delay * factor), maxMs);
  }
}

/** Waits `ms`; with a signal, rejects with its reason as soon as it is aborted. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** `sleep`, ended early (though not before {@link NUDGE_GAP_MS}) by a poke of `nudge`. */
async function pause(ms: number, signal: AbortSignal | undefined, nudge: Nudge | undefined): Promise<void> {
  if (!nudge || ms <= NUDGE_GAP_MS) return sleep(ms, signal);
  const stop = new AbortController();
  const onAbort = (): void => stop.abort(signal?.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  const { poked, cancel } = nudge.next();
  try {
    await sleep(NUDGE_GAP_MS, stop.signal);
    const rest = sleep(ms - NUDGE_GAP_MS, stop.signal).then(() => cancel());
    await Promise.race([rest, poked]);
  } finally {
    cancel();
    signal?.removeEventListener("abort", onAbort);
    stop.abort(new Error("done"));
  }
}
