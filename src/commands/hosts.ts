import { constants } from "node:fs";
import { access, readFile, realpath, stat, writeFile } from "node:fs/promises";
import { isIP } from "node:net";
import { join } from "node:path";
import { DIFY_DOMAINS } from "../helm/index.js";
import { writeFileAtomic } from "../util/index.js";
import { ConflictError, EnvironmentError, UserError, messageOf } from "../errors.js";

/** The markers around the lines dify-local owns in a hosts file; nothing outside them is touched. */
export const HOSTS_BEGIN = "# BEGIN dify-local";
export const HOSTS_END = "# END dify-local";

export interface HostsOptions {
  /** Add (or update) the marked block in the hosts file. */
  apply?: boolean;
  /** Take the marked block out of the hosts file. */
  remove?: boolean;
  /** The hosts file; /etc/hosts by default (Windows: %SystemRoot%\System32\drivers\etc\hosts). */
  file?: string;
  /** The address the names resolve to; 127.0.0.1 by default (the kind ingress is published there). */
  ip?: string;
}

export interface HostsResult {
  /** The hosts line for every `*.dify.local` name. */
  line: string;
  /** The file read (and written when `changed`); only with `apply` or `remove`. */
  file?: string;
  /** Whether the file was written; false when it already was as asked. */
  changed: boolean;
}

/** One hosts-file line mapping every Dify domain (console, app, api, files, enterprise, trigger) to `ip`. */
export function hostsLine(ip = "127.0.0.1"): string {
  if (isIP(ip) === 0) throw new UserError(`"${ip}" is not an IP address`, { key: "--ip" });
  return [ip, ...Object.values(DIFY_DOMAINS)].join(" ");
}

/**
 * `text` with the dify-local block holding `line`: an existing block is replaced where it stands,
 * otherwise the block is appended. Every other line is kept byte for byte; a second call with the
 * same line returns its input unchanged.
 */
export function withHostsBlock(text: string, line: string): string {
  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  const block = `${HOSTS_BEGIN}${eol}${line}${eol}${HOSTS_END}${eol}`;
  const blocks = findBlocks(text);
  const first = blocks[0];
  if (first) return withoutBlocks(text, blocks, { at: first.start, insert: block });
  // The last line needs its line break before the block can start on a line of its own.
  const sep = text === "" || text.endsWith("\n") ? "" : eol;
  return `${text}${sep}${block}`;
}

/** `text` without the dify-local block (every block, should there be several); unchanged when there is none. */
export function withoutHostsBlock(text: string): string {
  return withoutBlocks(text, findBlocks(text));
}

/**
 * The `*.dify.local` hosts line; with `apply` or `remove`, also writes the hosts file (only when
 * it changes, so a rerun needs no rights). Refuses `apply` with `remove` (UserError); a file it
 * may not write is an EnvironmentError with the sudo hint, and the file is left as it was.
 */
export async function hosts(options: HostsOptions = {}): Promise<HostsResult> {
  if (options.apply && options.remove) throw new UserError("--apply and --remove cannot be used together", { key: "--remove" });
  const line = hostsLine(options.ip);
  if (!options.apply && !options.remove) return { line, changed: false };
  const file = options.file ?? defaultHostsFile();
  const flag: HostsFlag = options.apply ? "--apply" : "--remove";
  const before = await readHostsFile(file, flag);
  const after = options.apply ? withHostsBlock(before ?? "", line) : withoutHostsBlock(before ?? "");
  // Unchanged text is not written: a rerun needs no rights, and --remove creates no missing file.
  if (after === (before ?? "")) return { line, file, changed: false };
  await writeHostsFile(file, after, before !== undefined, flag);
  return { line, file, changed: true };
}

function defaultHostsFile(): string {
  return process.platform === "win32" ? join(process.env.SystemRoot ?? "C:\\Windows", "System32", "drivers", "etc", "hosts") : "/etc/hosts";
}

interface Block {
  /** Offset of the BEGIN line's first character. */
  start: number;
  /** Offset just past the END line's line break (or the end of the text). */
  end: number;
}

/** The marked blocks of `text`, in order. A BEGIN without its END is refused rather than guessed at. */
function findBlocks(text: string): Block[] {
  const blocks: Block[] = [];
  let open: { start: number; line: number } | undefined;
  let offset = 0;
  let lineNo = 0;
  while (offset < text.length) {
    const nl = text.indexOf("\n", offset);
    const next = nl === -1 ? text.length : nl + 1;
    const content = text.slice(offset, next).trim();
    lineNo += 1;
    if (content === HOSTS_BEGIN) {
      if (open) throw unbalanced(`a second "${HOSTS_BEGIN}" on line ${lineNo} before "${HOSTS_END}"`);
      open = { start: offset, line: lineNo };
    } else if (content === HOSTS_END) {
      if (!open) throw unbalanced(`"${HOSTS_END}" on line ${lineNo} without "${HOSTS_BEGIN}"`);
      blocks.push({ start: open.start, end: next });
      open = undefined;
    }
    offset = next;
  }
  if (open) throw unbalanced(`"${HOSTS_BEGIN}" on line ${open.line} has no "${HOSTS_END}"`);
  return blocks;
}

function unbalanced(what: string): ConflictError {
  return new ConflictError(`the hosts file has ${what}`, {
    hint: `fix the dify-local block by hand (the lines between "${HOSTS_BEGIN}" and "${HOSTS_END}"), then rerun`,
  });
}

/** `text` with `blocks` cut out, and `insert` placed at offset `at` (the first block's place). */
function withoutBlocks(text: string, blocks: Block[], replacement?: { at: number; insert: string }): string {
  let out = "";
  let offset = 0;
  for (const b of blocks) {
    out += text.slice(offset, b.start);
    if (replacement && b.start === replacement.at) out += replacement.insert;
    offset = b.end;
  }
  return out + text.slice(offset);
}

type HostsFlag = "--apply" | "--remove";

/** The file's text, or undefined when it does not exist. */
async function readHostsFile(file: string, flag: HostsFlag): Promise<string | undefined> {
  try {
    return await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw fileError(err, file, "read", flag);
  }
}

/**
 * Writes through a temporary file renamed over the target (a reader never sees half a file), with
 * the target's mode and owner. /etc/hosts may be a bind mount (Docker gives containers one, and
 * Docker Desktop may too), which cannot be renamed over: then it is written in place, which keeps
 * its mode and owner by itself.
 */
async function writeHostsFile(file: string, text: string, exists: boolean, flag: HostsFlag): Promise<void> {
  // A link (macOS: /etc -> /private/etc) is followed, so the rename replaces the file, not the link.
  const target = exists ? await realpath(file).catch(() => file) : file;
  // The file's own write permission decides, not the directory's: a rename could replace a
  // read-only file the user may not write.
  if (exists) await access(target, constants.W_OK).catch((err: unknown) => Promise.reject(fileError(err, file, "write", flag)));
  try {
    await writeFileAtomic(target, text, { mode: 0o644, ...(exists ? { preserve: await stat(target) } : {}) });
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // EBUSY / EXDEV: a bind-mounted file. EACCES / EPERM on the directory only (the file itself is
    // writable, checked above): /etc is not ours but the file is.
    if (!exists || !["EBUSY", "EXDEV", "EACCES", "EPERM"].includes(code ?? "")) throw fileError(err, file, "write", flag);
  }
  try {
    await writeFile(target, text, "utf8");
  } catch (err) {
    throw fileError(err, file, "write", flag);
  }
}

/** Maps a file system error to the error the user can act on. */
function fileError(err: unknown, file: string, verb: "read" | "write", flag: HostsFlag): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "EACCES" || code === "EPERM") {
    return new EnvironmentError(`no permission to ${verb} ${file}; it was not changed`, {
      hint:
        process.platform === "win32"
          ? "rerun from a terminal opened as Administrator"
          : `rerun with sudo: \`sudo npx dify-local hosts ${flag}\``,
      cause: err,
    });
  }
  if (code === "EROFS") return new EnvironmentError(`${file} is on a read-only file system; it was not changed`, { cause: err });
  if (code === "EISDIR") return new UserError(`${file} is a directory, not a hosts file`, { key: "file" });
  if (code === "ENOENT") return new UserError(`cannot ${verb} ${file}: its directory does not exist`, { key: "file" });
  return new EnvironmentError(`cannot ${verb} ${file}: ${messageOf(err)}`, { cause: err });
}
