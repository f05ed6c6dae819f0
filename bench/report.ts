/** Statistics, the targets of issue 9, and the table (terminal and Markdown) and JSON written under bench/results/. */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface Measured {
  id: string;
  label: string;
  /** What was run, as a user would type it. */
  command: string;
  /** A dify-local command (the memory target applies), or a baseline. */
  dl: boolean;
  samples: number[];
  rssKb: Array<number | undefined>;
  /** CPU the whole machine spent during each run, ms over all cores (proc.ts, machineBusyMs); undefined where not measured. */
  cpuMs?: Array<number | undefined>;
}

export interface Summary extends Measured {
  median: number;
  min: number;
  max: number;
  /** Peak RSS over the runs, MB; undefined when not measured. */
  rssMb: number | undefined;
  /** Median CPU of the whole machine per run, ms over all cores; undefined when not measured. */
  cpuMedianMs: number | undefined;
}

export type Target =
  | { what: string; kind: "ratio"; scenario: string; baseline: string; limit: number }
  | { what: string; kind: "ms"; scenario: string; limit: number }
  | { what: string; kind: "rss"; limit: number };

export interface TargetResult {
  what: string;
  measured: string;
  limit: string;
  met: boolean;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

export function summarise(m: Measured): Summary {
  const rss = m.rssKb.filter((r): r is number => r !== undefined);
  const cpu = (m.cpuMs ?? []).filter((c): c is number => c !== undefined);
  return {
    ...m,
    cpuMedianMs: cpu.length ? median(cpu) : undefined,
    median: median(m.samples),
    min: Math.min(...m.samples),
    max: Math.max(...m.samples),
    rssMb: rss.length ? Math.max(...rss) / 1024 : undefined,
  };
}

export function evaluate(targets: readonly Target[], results: readonly Summary[]): TargetResult[] {
  const by = new Map(results.map((r) => [r.id, r]));
  const get = (id: string) => {
    const r = by.get(id);
    if (!r) throw new Error(`internal: no result ${id}`);
    return r;
  };
  return targets.map((t) => {
    if (t.kind === "ratio") {
      const ratio = get(t.scenario).median / get(t.baseline).median;
      return { what: t.what, measured: `${ratio.toFixed(2)}x`, limit: `<= ${t.limit}x`, met: ratio <= t.limit };
    }
    if (t.kind === "ms") {
      const ms = get(t.scenario).median;
      return { what: t.what, measured: `${ms.toFixed(0)} ms`, limit: `<= ${t.limit} ms`, met: ms <= t.limit };
    }
    const worst = results.filter((r) => r.dl && r.rssMb !== undefined).sort((a, b) => (b.rssMb ?? 0) - (a.rssMb ?? 0))[0];
    if (!worst) return { what: t.what, measured: "not measured", limit: `<= ${t.limit} MB`, met: false };
    const mb = worst.rssMb ?? 0;
    return { what: t.what, measured: `${mb.toFixed(0)} MB (${worst.label})`, limit: `<= ${t.limit} MB`, met: mb <= t.limit };
  });
}

const ms = (x: number) => `${x.toFixed(0)} ms`;

function rows(results: readonly Summary[], nodeId: string): string[][] {
  const node = results.find((r) => r.id === nodeId)?.median ?? Number.NaN;
  return results.map((r) => [
    r.label,
    ms(r.median),
    ms(r.min),
    ms(r.max),
    `${(r.median / node).toFixed(2)}x`,
    r.rssMb === undefined ? "-" : `${r.rssMb.toFixed(0)} MB`,
  ]);
}

const head = (results: readonly Summary[], nodeId: string): string[] => [
  "what",
  "median",
  "min",
  "max",
  `vs ${nodeId === "node" ? "node -e 0" : (results.find((r) => r.id === nodeId)?.label ?? nodeId)}`,
  "peak RSS",
];
const TARGET_HEAD = ["target", "measured", "limit", "met"];

function textTable(headers: string[], body: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ");
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}

function mdTable(headers: string[], body: string[][]): string {
  const line = (cells: string[]) => `| ${cells.map((c) => c.replace(/\|/g, "\\|")).join(" | ")} |`;
  return [line(headers), line(headers.map(() => "---")), ...body.map(line)].join("\n");
}

/**
 * The machine's CPU during the runs of `ids` (every process: the CLI, the engine, the containers),
 * and what it implies: work of C ms of CPU on N cores cannot end before C / N ms, whatever runs
 * beside what. Measured, not assumed, so a target out of this machine's reach shows as such.
 */
export function cpuRows(results: readonly Summary[], ids: readonly string[], cores: number, baselineId: string): string[][] {
  const base = results.find((r) => r.id === baselineId)?.median ?? Number.NaN;
  return results
    .filter((r) => ids.includes(r.id) && r.cpuMedianMs !== undefined)
    .map((r) => {
      const floor = (r.cpuMedianMs ?? 0) / cores;
      return [r.label, ms(r.median), ms(r.cpuMedianMs ?? 0), ms(floor), `${(Math.max(floor, base) / base).toFixed(2)}x`];
    });
}

export const cpuHead = (cores: number, baselineLabel: string): string[] => [
  "what",
  "median wall",
  "machine CPU (all cores)",
  `CPU / ${cores} cores`,
  `its floor vs ${baselineLabel}`,
];

/** A section beside the targets: its table and a note under it, for the terminal and for Markdown (under `## title`). */
export function section(title: string, headers: string[], body: string[][], note: string): { text: string; markdown: string } {
  return { text: `${textTable(headers, body)}\n${note}`, markdown: `## ${title}\n\n${mdTable(headers, body)}\n\n${note}` };
}

const targetRows = (t: readonly TargetResult[]) => t.map((r) => [r.what, r.measured, r.limit, r.met ? "yes" : "**MISSED**"]);

export function terminalReport(results: readonly Summary[], targets: readonly TargetResult[], nodeId: string): string {
  return `${textTable(head(results, nodeId), rows(results, nodeId))}\n\n${textTable(
    TARGET_HEAD,
    targetRows(targets).map((r) => r.map((c) => c.replace(/\*/g, ""))),
  )}`;
}

export interface Context {
  date: string;
  runs: number;
  machine: Record<string, string>;
  notes: string[];
  /** What makes this run's numbers untrustworthy (proc.ts, QuietCheck): shown first. */
  warnings?: string[];
}

export function markdownReport(
  ctx: Context,
  results: readonly Summary[],
  targets: readonly TargetResult[],
  nodeId: string,
  timings: string,
  /** Markdown sections (with their headings) after the notes. */
  sections: readonly string[] = [],
): string {
  const machine = Object.entries(ctx.machine)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");
  return [
    `# dify-local bench, ${ctx.date}`,
    "",
    ...(ctx.warnings ?? []).flatMap((w) => [`**Warning:** ${w}.`, ""]),
    `${ctx.runs} runs of each (median, min, max of the wall time from spawn to exit); ${machine}.`,
    "",
    mdTable(head(results, nodeId), rows(results, nodeId)),
    "",
    mdTable(TARGET_HEAD, targetRows(targets)),
    "",
    ...ctx.notes.map((n) => `- ${n}`),
    ...sections.flatMap((section) => ["", section]),
    ...(timings ? ["", "## Where the time goes (`--timings`, one run each)", "", timings] : []),
    "",
  ].join("\n");
}

/** Prints the run's warnings last, where a reader of the terminal looks; the bench's exit code: 1 when a target was missed or the run cannot be trusted. */
export function conclude(targets: readonly TargetResult[], warnings: readonly string[]): number {
  const missed = targets.filter((t) => !t.met);
  if (missed.length) console.log(`\n${missed.length} target${missed.length > 1 ? "s" : ""} missed`);
  for (const w of warnings) console.log(`\nwarning: ${w}`);
  return missed.length || warnings.length ? 1 : 0;
}

/** Writes `<stamp>.json` and `<stamp>.md` under bench/results/, and the same as `<name>.json` / `<name>.md` (latest.* by default). */
export async function writeResults(dir: string, stamp: string, json: object, markdown: string, name = "latest"): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files = [`${stamp}.json`, `${stamp}.md`, `${name}.json`, `${name}.md`].map((f) => join(dir, f));
  const text = `${JSON.stringify(json, null, 2)}\n`;
  await Promise.all(files.map((f) => writeFile(f, f.endsWith(".json") ? text : markdown)));
  return files;
}
