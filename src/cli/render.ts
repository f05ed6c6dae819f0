import { lazyLogUpdate } from "./log-update.js";
import type { Check, Event, EventSink, Finding } from "../engine/index.js";

/** JSON lines on stdout, one object per event; scripts read these with `--json`. */
export class JsonSink implements EventSink {
  constructor(private readonly out: NodeJS.WritableStream = process.stdout) {}
  emit(event: Event): void {
    this.out.write(`${JSON.stringify({ type: "event", ...event })}\n`);
  }
}

/** Plain lines on stderr when not on a TTY: one per finished step, none for progress ticks. */
export class PlainSink implements EventSink {
  constructor(private readonly out: NodeJS.WritableStream = process.stderr) {}
  emit(event: Event): void {
    // A start is news only when it says what the step waits for ("waiting for another dify-local up").
    if (event.status === "progress" || (event.status === "start" && !event.detail)) return;
    const label = event.status === "start" ? "wait" : event.status;
    this.out.write(`${label.padEnd(4)} ${event.step}${event.detail ? `: ${event.detail}` : ""}\n`);
  }
}

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const SYMBOL: Record<string, string> = { ok: "✓", fail: "✗", skip: "–", warn: "!" };

/** Live rows on a TTY: a spinner per running step, ✓/✗ when it ends, a byte bar per image pull. */
export class TtySink implements EventSink {
  private readonly rows = new Map<string, Event>();
  private frame = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly update = lazyLogUpdate(process.stderr);

  emit(event: Event): void {
    const prev = this.rows.get(event.step);
    this.rows.set(event.step, event.status === "progress" && prev ? { ...prev, progress: event.progress } : event);
    this.timer ??= setInterval(() => {
      this.frame++;
      this.render();
    }, 100);
    this.render();
  }

  /** Leaves the final frame on screen and stops the spinner. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.rows.size > 0) {
      this.render();
      this.update.done();
    }
  }

  private render(): void {
    const lines: string[] = [];
    for (const e of this.rows.values()) {
      const running = e.status === "start" || e.status === "progress";
      const sym = running ? SPINNER[this.frame % SPINNER.length] : (SYMBOL[e.status] ?? " ");
      let text = `${sym} ${e.step}`;
      if (e.progress && running) text += ` ${bar(e.progress.current, e.progress.total)}`;
      if (e.detail) text += `: ${e.detail}`;
      lines.push(text);
    }
    this.update(lines.join("\n"));
  }
}

function bar(current: number, total: number): string {
  const width = 20;
  const ratio = total > 0 ? Math.min(1, current / total) : 0;
  const filled = Math.round(ratio * width);
  return `[${"█".repeat(filled)}${"░".repeat(width - filled)}] ${mb(current)}/${mb(total)} MB`;
}

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

/** A plain text table with aligned columns. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}

/** Checks as people read them: ✓ or ✗, with what was seen and the fix for a failure. */
export function renderChecks(checks: readonly Check[]): string {
  return checks
    .map((c) =>
      c.ok
        ? `✓ ${c.what}`
        : `✗ ${c.what}${c.detail ? `: ${c.detail}` : ""}${c.why ? `\n    why: ${c.why}` : ""}${c.fix ? `\n    fix: ${c.fix}` : ""}`,
    )
    .join("\n");
}

const SEVERITY_SYMBOL: Record<Finding["severity"], string> = { ok: "✓", error: "✗", warning: "!", info: "i" };

/** Findings as people read them: a symbol per severity, why and fix for the ones that are not ok. */
export function renderFindings(findings: readonly Finding[]): string {
  return findings
    .map((f) => {
      const lines = [`${SEVERITY_SYMBOL[f.severity]} ${f.what}`];
      if (f.severity !== "ok" && f.why) lines.push(`    why: ${f.why}`);
      if (f.severity !== "ok" && f.fix) lines.push(`    fix: ${f.fix}`);
      return lines.join("\n");
    })
    .join("\n");
}

/** "1 check", "2 checks". */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
