/**
 * `work`, or a rejection `${what}: timed out (no answer within N ms)` when it takes longer, so a
 * silent peer cannot stall a command; with a signal, also its reason as soon as it aborts.
 */
export async function withTimeout<T>(what: string, ms: number, work: Promise<T>, signal?: AbortSignal): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: timed out (no answer within ${ms} ms)`)), ms);
        onAbort = () => reject(signal?.reason instanceof Error ? signal.reason : new Error("aborted"));
        signal?.addEventListener("abort", onAbort, { once: true });
      }),
    ]);
  } finally {
    if (timer) clearTimeout(timer);
    if (onAbort) signal?.removeEventListener("abort", onAbort);
  }
}
