import type { Event, EventSink } from "../engine/index.js";
import { addSpan, recordTimings, recordedSpans, sinceStart, timingsOn, type Span } from "../util/timings.js";

/** When the bin file started running (ms since the process started), to tell Node's start from module loading. */
export interface Startup {
  started: number;
  /** What the code cache did for the CLI's bundle (src/cli/code-cache.ts), shown with the load. */
  codeCache?: string;
}

/** `--timings` anywhere on the command line, or DIFY_LOCAL_TIMINGS=1. */
export function timingsWanted(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): boolean {
  return env.DIFY_LOCAL_TIMINGS === "1" || argv.includes("--timings");
}

/**
 * With `--timings` (or DIFY_LOCAL_TIMINGS=1): records spans from now on and prints where the time
 * went on stderr when the process exits. Without it: nothing at all.
 */
export function startTimings(argv: readonly string[], startup?: Startup): void {
  if (!timingsWanted(argv)) return;
  recordTimings();
  const loaded = sinceStart();
  const fixed: Span[] = startup
    ? [
        { name: "node start", start: 0, end: startup.started },
        { name: startup.codeCache ? `CLI modules (code cache ${startup.codeCache})` : "CLI modules", start: startup.started, end: loaded },
      ]
    : [{ name: "node start and CLI modules", start: 0, end: loaded }];
  process.once("exit", () => process.stderr.write(renderTimings([...fixed, ...recordedSpans()], sinceStart())));
}

/** Where the time went: one line per span (when it started, how long it took), then the total. */
export function renderTimings(spans: readonly Span[], total: number): string {
  const width = Math.max(20, ...spans.map((s) => s.name.length));
  const num = (n: number) => n.toFixed(0).padStart(7);
  const lines = [`timings (ms since the process started)`, `  ${"".padEnd(width)}  ${"start".padStart(7)}  ${"took".padStart(7)}`];
  for (const s of spans) lines.push(`  ${s.name.padEnd(width)}  ${num(s.start)}  ${num(s.end - s.start)}`);
  lines.push(`  ${"total (until exit)".padEnd(width)}  ${"".padStart(7)}  ${num(total)}`);
  return `${lines.join("\n")}\n`;
}

/** Times each step from its start event to its end (ok, fail, skip, warn), then passes every event on. */
export class TimingSink implements EventSink {
  private readonly started = new Map<string, number>();

  constructor(private readonly next: EventSink) {}

  emit(event: Event): void {
    if (event.status === "start") this.started.set(event.step, sinceStart());
    else if (event.status !== "progress") {
      const start = this.started.get(event.step);
      if (start !== undefined) {
        this.started.delete(event.step);
        addSpan(event.step, start, sinceStart());
      }
    }
    this.next.emit(event);
  }
}

/** The sink wrapped in a {@link TimingSink} while timings are recorded; the sink itself otherwise. */
export function timingSink(sink: EventSink): EventSink {
  return timingsOn() ? new TimingSink(sink) : sink;
}
