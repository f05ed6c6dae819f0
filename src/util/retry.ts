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
    await sleep(delay, options.signal);
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
