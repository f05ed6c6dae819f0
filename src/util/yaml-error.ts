import { isAlias, isMap, isNode, isScalar, isSeq, visit, type Document, type LineCounter, type Node } from "yaml";

/** A problem in a YAML file: `file:line:col: invalid YAML[ at key.path]: why`, and the key path when one is known. */
export interface YamlProblem {
  text: string;
  /** The key path the problem is under (`postgres.port`, `postgres.databases[1]`), when it is inside one. */
  path: string | undefined;
}

/** The yaml library's wording for these is for programmers; users get what to change. */
const FRIENDLY: Record<string, string> = {
  DUPLICATE_KEY: "this key appears twice in the same mapping (one of the two would be lost); keep one",
  MULTIPLE_DOCS: "the file holds more than one YAML document (a second ---); a config file is one document",
  TAB_AS_INDENT: "a tab is used for indentation; YAML indents with spaces",
};

/**
 * The first error of a parsed YAML document (with `warnings`, the first warning too: an unknown
 * tag), or undefined when it parsed cleanly. Config files and values files report their syntax
 * errors alike, with the key path at the error when there is one.
 */
export function yamlProblem(doc: Document.Parsed, lineCounter: LineCounter, file: string, warnings = false): YamlProblem | undefined {
  const first = doc.errors[0] ?? (warnings ? doc.warnings[0] : undefined);
  if (!first) return undefined;
  const pos = first.linePos?.[0] ?? lineCounter.linePos(first.pos[0]);
  const path = pathAt(doc, first.pos[0]);
  const why = FRIENDLY[first.code] ?? first.message.split("\n")[0] ?? "";
  return { text: `${file}:${pos.line}:${pos.col}: invalid YAML${path ? ` at ${path}` : ""}: ${why}`, path };
}

/** {@link yamlProblem}'s message alone. */
export function yamlError(doc: Document.Parsed, lineCounter: LineCounter, file: string): string | undefined {
  return yamlProblem(doc, lineCounter, file)?.text;
}

/**
 * The yaml library's limit on alias expansion (its `maxAliasCount`) is what stops an alias bomb
 * ("billion laughs"): `toJS` throws when it is passed, and on an alias to an anchor not yet defined.
 * Neither error says where; this finds the alias: the one that does not resolve, else the first
 * alias to a node that holds aliases itself (where a bomb starts), else the first alias.
 */
export function aliasProblem(doc: Document.Parsed, lineCounter: LineCounter, file: string, maxAliasCount: number): YamlProblem {
  const aliases: Node[] = [];
  visit(doc, { Alias: (_key, node) => void aliases.push(node) });
  const unresolved = aliases.find((a) => isAlias(a) && a.resolve(doc) === undefined);
  const nested = aliases.find((a) => isAlias(a) && holdsAlias(a.resolve(doc)));
  const at = unresolved ?? nested ?? aliases[0];
  const offset = at?.range?.[0] ?? 0;
  const pos = lineCounter.linePos(offset);
  const path = pathAt(doc, offset);
  const why = unresolved
    ? `an alias (*${isAlias(unresolved) ? unresolved.source : ""}) names no anchor defined before it`
    : `the aliases here expand to more than ${maxAliasCount} nodes (an "alias bomb"?); write the values out instead`;
  return { text: `${file}:${pos.line}:${pos.col}: invalid YAML${path ? ` at ${path}` : ""}: ${why}`, path };
}

function holdsAlias(node: unknown): boolean {
  let found = false;
  if (isNode(node)) visit(node, { Alias: () => ((found = true), visit.BREAK) });
  return found;
}

/** The key path of the deepest map key or sequence item whose range holds `offset`. */
function pathAt(doc: Document.Parsed, offset: number): string | undefined {
  const parts: Array<string | number> = [];
  let node: unknown = doc.contents;
  for (;;) {
    const next = stepInto(node, offset);
    if (!next) break;
    parts.push(next.part);
    node = next.node;
  }
  if (parts.length === 0) return undefined;
  return parts.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");
}

function contains(node: unknown, offset: number): boolean {
  return isNode(node) && !!node.range && offset >= node.range[0] && offset < node.range[2];
}

function stepInto(node: unknown, offset: number): { part: string | number; node: unknown } | undefined {
  if (isMap(node)) {
    for (const pair of node.items) {
      if (!isScalar(pair.key) || !pair.key.range) continue;
      const key = String(pair.key.value);
      if (contains(pair.value, offset)) return { part: key, node: pair.value };
      // Between the key and its value (a tag, the colon): the key itself.
      const end = isNode(pair.value) && pair.value.range ? pair.value.range[2] : pair.key.range[2];
      if (offset >= pair.key.range[0] && offset < end) return { part: key, node: undefined };
    }
  }
  if (isSeq(node)) {
    const index = node.items.findIndex((item) => contains(item, offset));
    if (index >= 0) return { part: index, node: node.items[index] };
  }
  return undefined;
}
