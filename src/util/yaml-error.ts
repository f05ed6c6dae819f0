import type { Document, LineCounter } from "yaml";

/**
 * The first error of a parsed YAML document as `file:line:col: invalid YAML: <first line>`, or
 * undefined when it parsed cleanly. Config files and values files report their syntax errors alike.
 */
export function yamlError(doc: Document.Parsed, lineCounter: LineCounter, file: string): string | undefined {
  const first = doc.errors[0];
  if (!first) return undefined;
  const pos = first.linePos?.[0] ?? lineCounter.linePos(first.pos[0]);
  return `${file}:${pos.line}:${pos.col}: invalid YAML: ${first.message.split("\n")[0] ?? ""}`;
}
