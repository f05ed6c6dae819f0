/**
 * Where a step is in its life. `progress` carries bytes for image pulls; `warn` is something the
 * user must know although the command goes on (data found lost, a stale lock taken over). A
 * `start` with a detail says what the step is waiting for.
 */
export type EventStatus = "start" | "ok" | "fail" | "skip" | "progress" | "warn";

/** One thing that happened during a command; the library never prints, it emits these. */
export interface Event {
  step: string;
  status: EventStatus;
  detail?: string;
  progress?: { current: number; total: number };
}

export interface EventSink {
  emit(event: Event): void;
}

/** Passes every event on to `sink` with its step and detail through `redact` (the command's Redactor). */
export function redactingSink(sink: EventSink, redact: (text: string) => string): EventSink {
  return {
    emit(event: Event): void {
      sink.emit({ ...event, step: redact(event.step), ...(event.detail !== undefined ? { detail: redact(event.detail) } : {}) });
    },
  };
}

/** A sink that drops everything (library default). */
export const silentSink: EventSink = { emit: () => undefined };

/** A sink that records events in memory (tests, `--json` summaries). */
export class RecordingSink implements EventSink {
  readonly events: Event[] = [];
  constructor(private readonly next: EventSink = silentSink) {}
  emit(event: Event): void {
    this.events.push(event);
    this.next.emit(event);
  }
}

/**
 * Runs one named step: emits start, then ok (with the detail the body returns) or fail (with
 * the error's message) and rethrows. Every step of every command goes through here.
 */
export async function step<T>(
  sink: EventSink,
  name: string,
  body: () => Promise<T>,
  detail?: (result: T) => string | undefined,
): Promise<T> {
  sink.emit({ step: name, status: "start" });
  try {
    const result = await body();
    const d = detail?.(result);
    sink.emit({ step: name, status: "ok", ...(d ? { detail: d } : {}) });
    return result;
  } catch (err) {
    sink.emit({ step: name, status: "fail", detail: err instanceof Error ? err.message : String(err) });
    throw err;
  }
}
