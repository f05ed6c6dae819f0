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
    const result = await attempt();
    if (result !== undefined) return result;
    if (Date.now() + delay > deadline) throw await options.onTimeout();
    await sleep(delay);
    delay = Math.min(Math.round(delay * factor), maxMs);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
