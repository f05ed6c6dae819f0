import { realpath } from "node:fs/promises";
import { isDeepStrictEqual } from "node:util";
import { Document, isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, Scalar, type Node, type Pair, type YAMLMap } from "yaml";
import { UserError } from "../errors.js";
import { aliasProblem, readInputFile, utf8Text, yamlError } from "../util/index.js";
import { writePrivateFile } from "./secrets.js";
import { flattenValues, formatKeyPath, valueAt, type ValuesEntry } from "./values.js";

/** What `--merge` did to a values file. */
export interface MergeResult {
  file: string;
  /** The copy of the file as it was before the merge; undefined when nothing changed (nothing is written then). */
  backup: string | undefined;
  /** The owned key paths that were added or got another value (`persistence.s3.accessKey`). */
  changed: string[];
  /**
   * "kept": every byte outside the changed values is as it was. "rewritten": the change could not
   * be made as a text edit (a block list or a multi-line value where a mapping is needed, a flow
   * mapping with keys of its own), so the file was re-serialised through the yaml Document API:
   * keys and comments are kept, indentation and comment placement may differ.
   */
  layout: "kept" | "rewritten";
}

/** A values file read and parsed. */
export interface ValuesFile {
  text: string;
  /** The file as plain data (`{}` for an empty file). */
  data: unknown;
}

/**
 * Sets every owned leaf of `values` in the user's values file and leaves everything else alone:
 * other keys, comments, quoting and layout stay byte for byte (the changed values are spliced into
 * the text at the positions the yaml parser reports). A backup is written first (see
 * {@link writeBackup}); the result is written with mode 0600. A YAML error in the file is a {@link UserError} naming
 * `file:line` and the file is not touched.
 */
export async function mergeValuesFile(file: string, values: Record<string, unknown>): Promise<MergeResult> {
  const original = await readBytes(file);
  const merged = mergeValuesText(utf8Text(original, file, "--merge"), values, file);
  if (merged.changed.length === 0) return { file, backup: undefined, changed: [], layout: "kept" };
  const backup = await writeBackup(file, original);
  // A symlinked values.yaml stays a symlink: the file it points at is replaced.
  await writePrivateFile(await realpath(file), merged.text, "--merge");
  return { file, backup, changed: merged.changed, layout: merged.layout };
}

/** How many numbered backups `--merge` tries before it gives up. */
const MAX_BACKUPS = 1000;

/**
 * Keeps `original` (the file as it was before a merge) in a new backup, mode 0600: `FILE.bak` when
 * there is none, else the first free `FILE.bak.1`, `FILE.bak.2`, ... An existing backup is never
 * overwritten: the first one is the file as it was before dify-local ever touched it. Each name is
 * created exclusively, so two merges at once cannot write the same backup, and never through a link.
 */
export async function writeBackup(file: string, original: Uint8Array): Promise<string> {
  for (let n = 0; n < MAX_BACKUPS; n++) {
    const backup = n === 0 ? `${file}.bak` : `${file}.bak.${n}`;
    try {
      await writePrivateFile(backup, original, "--merge", { exclusive: true });
      return backup;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
  }
  throw new UserError(`${file}.bak through ${file}.bak.${MAX_BACKUPS - 1} all exist; --merge keeps every backup and found no free name`, {
    key: "--merge",
    hint: `remove the backups you no longer need (ls ${file}.bak*)`,
  });
}

/** Reads and parses a values file; the errors of {@link mergeValuesFile}, without changing anything. */
export async function loadValuesFile(file: string): Promise<ValuesFile> {
  const text = utf8Text(await readBytes(file), file, "--merge");
  const { doc, lineCounter } = parseValues(text, file);
  return { text, data: plainData(doc, lineCounter, file) };
}

/** The text half of {@link mergeValuesFile}: pure, for tests and callers that write elsewhere. */
export function mergeValuesText(
  text: string,
  values: Record<string, unknown>,
  file = "<values>",
): { text: string; changed: string[]; layout: MergeResult["layout"] } {
  const { doc, lineCounter } = parseValues(text, file);
  const before = plainData(doc, lineCounter, file);
  const changes = flattenValues(values).filter((e) => !sameValue(valueAt(before, e.path), e.value));
  if (changes.length === 0) return { text, changed: [], layout: "kept" };
  const expected = structuredClone(before) as Record<string, unknown>;
  for (const c of changes) setPlain(expected, c.path, c.value);
  const changed = changes.map((c) => formatKeyPath(c.path));

  const spliced = splice(text, doc, lineCounter, changes);
  if (spliced !== undefined) {
    const check = parseDocument(spliced, { uniqueKeys: true });
    if (check.errors.length === 0 && isDeepStrictEqual(check.toJS() ?? {}, expected)) return { text: spliced, changed, layout: "kept" };
  }
  // Not expressible as text edits (see MergeResult.layout): the Document API sets the keys instead.
  for (const c of changes) setNode(doc, c.path, c.value, file);
  return { text: doc.toString({ lineWidth: 0, indent: indentUnit(doc, lineCounter) }), changed, layout: "rewritten" };
}

/** The most a values file may hold; Dify EE's own is a few tens of kilobytes. */
const MAX_VALUES_BYTES = 8 * 1024 * 1024;

/** The file's bytes: only a regular file of at most {@link MAX_VALUES_BYTES} (a FIFO or /dev/zero is refused, not waited on). */
async function readBytes(file: string): Promise<Buffer> {
  const bytes = await readInputFile(file, { what: "values file", key: "--merge", maxBytes: MAX_VALUES_BYTES }, true);
  if (bytes) return bytes;
  throw new UserError(`cannot read values file ${file}: no such file`, {
    key: "--merge",
    hint: "--merge updates an existing values.yaml; to write a new file use -o FILE",
  });
}

/** The document as plain data; aliases expand to at most the yaml library's 100 nodes (an alias bomb is bad input, not a crash). */
function plainData(doc: Document.Parsed, lineCounter: LineCounter, file: string): unknown {
  try {
    return doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch {
    throw new UserError(aliasProblem(doc, lineCounter, file, 100).text, { key: "--merge" });
  }
}

function parseValues(text: string, file: string): { doc: Document.Parsed; lineCounter: LineCounter } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const syntax = yamlError(doc, lineCounter, file);
  if (syntax) throw new UserError(syntax, { key: "--merge", hint: "fix the file (it was not changed), then run again" });
  if (doc.contents !== null && !isMap(doc.contents)) {
    throw new UserError(`${file}:1: a values file must be a mapping of keys (global, ingress, ...)`, { key: "--merge" });
  }
  return { doc, lineCounter };
}

/** An owned value that equals the file's is left as written; a port written as "55432" is the same port. */
function sameValue(current: unknown, wanted: unknown): boolean {
  if (current === wanted) return true;
  return typeof wanted === "number" && typeof current === "string" && current.trim() === String(wanted);
}

function setPlain(obj: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let cur = obj;
  for (const key of path.slice(0, -1)) {
    const next = cur[key];
    if (typeof next !== "object" || next === null || Array.isArray(next)) cur[key] = {};
    cur = cur[key] as Record<string, unknown>;
  }
  cur[path[path.length - 1] as string] = value;
}

interface Edit {
  at: number;
  /** Characters removed from `at` on (0 for an insertion). */
  remove: number;
  text: string;
  /** Insertions at one offset go deepest first: a nested map ends where its parent does. */
  depth: number;
}

/**
 * Plans every change as a text edit: a changed scalar is replaced in place (keeping its quoting);
 * missing keys are inserted as a block at the end of the deepest mapping that exists, or under a
 * key whose one-line value gives way to them (`key:`, `key: ~`, `key: {}`, `key: local`).
 * Undefined when a change needs more (a block list or scalar in the way, an alias, a flow mapping
 * with keys); the caller then uses the Document API.
 */
function splice(text: string, doc: Document.Parsed, lc: LineCounter, changes: ValuesEntry[]): string | undefined {
  const ctx: SpliceContext = { text, lc, unit: indentUnit(doc, lc), eol: text.includes("\r\n") ? "\r\n" : "\n" };
  const edits: Edit[] = [];
  // Missing subtrees, grouped per place they go, in the order the keys are rendered.
  const inserts = new Map<Node | null, InsertPlace>();
  for (const change of changes) {
    const found = walk(doc, change.path);
    if (found === undefined) return undefined;
    if (found.depth === change.path.length) {
      const edit = replaceLeaf(ctx, found.node, change.value);
      if (!edit) return undefined;
      edits.push(edit);
      continue;
    }
    const place = inserts.get(found.node) ?? insertPlace(ctx, found.node, found.parentPair);
    if (!place) return undefined;
    inserts.set(found.node, place);
    setPlain(place.tree, change.path.slice(found.depth), change.value);
  }
  for (const place of inserts.values()) edits.push(...insertEdits(ctx, place));
  // Back to front, so earlier offsets stay valid; at one offset the deeper insertion lands first.
  edits.sort((a, b) => b.at - a.at || a.depth - b.depth);
  let out = text;
  for (const e of edits) out = out.slice(0, e.at) + e.text + out.slice(e.at + e.remove);
  return out;
}

interface SpliceContext {
  text: string;
  lc: LineCounter;
  /** Indentation step of the file. */
  unit: number;
  eol: string;
}

/** Where a missing subtree goes: an offset, its indentation, a one-line value it replaces, and the keys. */
interface InsertPlace {
  at: number;
  indent: number;
  remove?: [number, number];
  tree: Record<string, unknown>;
}

/**
 * Follows `path` down block mappings as far as it exists: the node reached (null past a missing
 * value), the pair holding it, and how many keys were found. Undefined when a key holds something
 * that is neither a scalar nor a collection nor an alias.
 */
function walk(
  doc: Document.Parsed,
  path: readonly string[],
): { node: Node | null; parentPair: Pair | undefined; depth: number } | undefined {
  let node: Node | null = doc.contents;
  let parentPair: Pair | undefined;
  let depth = 0;
  for (; depth < path.length; depth++) {
    if (!isMap(node) || (node.flow && node.items.length > 0)) break;
    const key = path[depth];
    const pair: Pair | undefined = node.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
    if (!pair) break;
    parentPair = pair;
    node = isScalar(pair.value) || isMap(pair.value) || isSeq(pair.value) || isAlias(pair.value) ? pair.value : null;
    if (node === null) return undefined;
  }
  return { node, parentPair, depth };
}

/** The leaf exists: replace its text, keeping its quoting. Undefined for anything but a plain or quoted scalar. */
function replaceLeaf(ctx: SpliceContext, node: Node | null, value: unknown): Edit | undefined {
  if (!isScalar(node) || !node.range || !["PLAIN", "QUOTE_DOUBLE", "QUOTE_SINGLE"].includes(node.type ?? "PLAIN")) return undefined;
  const [start, end] = node.range;
  const rendered = scalarText(value, node.type);
  // An empty value (`key:`) has no text of its own: the new one needs a space after the colon.
  const needsSpace = start === end && ctx.text[start - 1] === ":";
  return { at: start, remove: end - start, text: needsSpace ? ` ${rendered}` : rendered, depth: 0 };
}

/** Where keys missing under `node` go: the end of the file, the end of its block mapping, or under the key whose one-line value gives way. */
function insertPlace(ctx: SpliceContext, node: Node | null, parentPair: Pair | undefined): InsertPlace | undefined {
  const colOf = (offset: number) => ctx.lc.linePos(offset).col - 1;
  if (node === null) return { at: ctx.text.length, indent: 0, tree: {} };
  if (isMap(node) && !node.flow && node.items.length > 0 && node.range) {
    const firstKey = node.items[0]?.key;
    if (!isScalar(firstKey) || !firstKey.range) return undefined;
    return { at: node.range[1], indent: colOf(firstKey.range[0]), tree: {} };
  }
  if (!onOneLine(ctx.text, node) || !node.range || !parentPair || !isScalar(parentPair.key) || !parentPair.key.range) return undefined;
  // `key:`, `key: ~`, `key: {}`, `key: local`: the value gives way to the block, which goes on the next line.
  const lineEnd = ctx.text.indexOf("\n", node.range[0]);
  let from = node.range[0];
  while (from > 0 && (ctx.text[from - 1] === " " || ctx.text[from - 1] === "\t") && node.range[1] > node.range[0]) from--;
  return {
    at: lineEnd === -1 ? ctx.text.length : lineEnd + 1,
    indent: colOf(parentPair.key.range[0]) + ctx.unit,
    remove: [from, node.range[1]],
    tree: {},
  };
}

/** The edits that write one place's missing keys as a block (and remove the value it replaces). */
function insertEdits(ctx: SpliceContext, place: InsertPlace): Edit[] {
  const edits: Edit[] = [];
  if (place.remove) edits.push({ at: place.remove[0], remove: place.remove[1] - place.remove[0], text: "", depth: 0 });
  const block = new Document(place.tree)
    .toString({ indent: ctx.unit, lineWidth: 0 })
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => " ".repeat(place.indent) + line)
    .join(ctx.eol);
  const lead = place.at > 0 && ctx.text[place.at - 1] !== "\n" ? ctx.eol : "";
  edits.push({ at: place.at, remove: 0, text: `${lead}${block}${ctx.eol}`, depth: place.indent });
  return edits;
}

/** A value written on one line that a mapping can replace: a plain or quoted scalar, or a flow collection. */
function onOneLine(text: string, node: Node | null): boolean {
  if (!node?.range) return false;
  const oneLine = !text.slice(node.range[0], node.range[1]).includes("\n");
  if (isScalar(node)) return oneLine && ["PLAIN", "QUOTE_DOUBLE", "QUOTE_SINGLE"].includes(node.type ?? "PLAIN");
  // A flow mapping with keys is not replaced: its keys are the user's (the Document API merges into it).
  if (isMap(node)) return oneLine && node.flow === true && node.items.length === 0;
  return oneLine && isSeq(node) && node.flow === true;
}

/** A scalar's text in the style the file used for it (plain, double or single quotes) when that style can hold it. */
function scalarText(value: unknown, type: Scalar["type"]): string {
  const node = new Scalar(value);
  if (typeof value === "string") node.type = type;
  return new Document(node).toString({ lineWidth: 0 }).replace(/\r?\n$/, "");
}

/** The file's indentation step: how far the first nested mapping is indented from its parent (2 when none is). */
function indentUnit(doc: Document.Parsed, lc: LineCounter): number {
  if (!isMap(doc.contents)) return 2;
  for (const pair of doc.contents.items) {
    const child = pair.value;
    if (isMap(child) && !child.flow && isScalar(pair.key) && pair.key.range) {
      const firstKey = child.items[0]?.key;
      if (isScalar(firstKey) && firstKey.range) {
        const step = lc.linePos(firstKey.range[0]).col - lc.linePos(pair.key.range[0]).col;
        if (step > 0) return step;
      }
    }
  }
  return 2;
}

/** Document-API fallback: sets a leaf, turning whatever stands in the way (a scalar, a list) into a mapping. */
function setNode(doc: Document.Parsed, path: readonly string[], value: unknown, file: string): void {
  if (!isMap(doc.contents)) doc.contents = doc.createNode({}) as unknown as Document.Parsed["contents"];
  let map = doc.contents as YAMLMap;
  for (const key of path.slice(0, -1)) {
    const next = map.get(key, true);
    if (isAlias(next)) {
      throw new UserError(
        `${file}: ${formatKeyPath(path)} goes through a YAML alias (*${next.source}); dify-local does not edit through aliases`,
        {
          key: "--merge",
          hint: "write the keys out instead of the alias, or render with -o and copy the keys by hand",
        },
      );
    }
    if (isMap(next)) {
      map = next;
    } else {
      const created = doc.createNode({}) as YAMLMap;
      map.set(key, created);
      map = created;
    }
  }
  map.set(path[path.length - 1], value);
}
