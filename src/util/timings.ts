/**
 * Where a command's time goes: named spans in milliseconds since the process started
 * ({@link sinceStart}). Nothing is recorded until a caller (the CLI's `--timings`) starts the
 * recording; until then {@link timed} calls its body directly and costs nothing.
 */

/** One measured span, in ms since the process started. */
export interface Span {
  name: string;
  start: number;
  end: number;
}

let spans: Span[] | undefined;

/**
 * Milliseconds since the process started. `process.uptime()` rather than `performance.now()`
 * (the same origin), whose first use loads Node's perf_hooks: the bin takes its first reading
 * before anything else, in every run.
 */
export function sinceStart(): number {
  return process.uptime() * 1000;
}

/** Starts recording spans (process-wide; the CLI turns it on for `--timings`). */
export function recordTimings(): void {
  spans ??= [];
}

/** Whether spans are being recorded. */
export function timingsOn(): boolean {
  return spans !== undefined;
}

/** Adds a span measured elsewhere (a step's start and end); nothing when not recording. */
export function addSpan(name: string, start: number, end: number): void {
  spans?.push({ name, start, end });
}

/** The spans recorded so far, in the order they started. */
export function recordedSpans(): Span[] {
  return [...(spans ?? [])].sort((a, b) => a.start - b.start);
}

/** Runs `body`; while recording, as a span named `name`. */
export function timed<T>(name: string, body: () => Promise<T>): Promise<T> {
  if (!spans) return body();
  return timedOn(spans, name, body);
}

async function timedOn<T>(into: Span[], name: string, body: () => Promise<T>): Promise<T> {
  const start = sinceStart();
  try {
    return await body();
  } finally {
    into.push({ name, start, end: sinceStart() });
  }
}

/**
 * A module loaded on first use, once (a client library only the commands that talk to its
 * service need): `const loadPg = lazyModule("pg", () => import("pg"))`, then `await loadPg()`.
 * Its load time is a span `load <name>` while recording.
 */
export function lazyModule<T>(name: string, load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () => (loading ??= timed(`load ${name}`, load));
}
