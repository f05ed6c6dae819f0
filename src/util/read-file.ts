import { constants } from "node:fs";
import { open, readFile, type FileHandle } from "node:fs/promises";
import { isUtf8 } from "node:buffer";
import { UserError } from "../errors.js";

// Windows has no O_NONBLOCK; there a FIFO cannot be named by a path anyway.
const NONBLOCK = (constants.O_NONBLOCK as number | undefined) ?? 0;

/** What an input file is called in messages, the flag or key it came from, and the most bytes read. */
export interface InputFile {
  /** "config file", "values file". */
  what: string;
  /** The flag the path came from (`--config`): the error's key. */
  key: string;
  maxBytes: number;
  /** A hint for a file that is larger than `maxBytes`. */
  tooBigHint?: string;
}

/**
 * The bytes of a file a user named, or undefined when it does not exist and `allowMissing`. Only a
 * regular file of at most `maxBytes` is read, and never more than that: a FIFO, a device
 * (`/dev/zero`), a directory or a huge file is refused at once with a {@link UserError} naming the
 * flag. The file is opened without blocking (a FIFO with no writer would hang an ordinary open),
 * and its type and size are taken from the open handle, so what is checked is what is read.
 */
export async function readInputFile(path: string, input: InputFile, allowMissing = false): Promise<Buffer | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" && allowMissing) return undefined;
    throw new UserError(`cannot read ${input.what} ${path}: ${openProblem(code, err)}`, { key: input.key });
  }
  try {
    return await readBounded(handle, path, input);
  } finally {
    await handle.close();
  }
}

function openProblem(code: string | undefined, err: unknown): string {
  if (code === "ENOENT") return "no such file";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  if (code === "ENOTDIR") return "a part of the path is not a directory";
  if (code === "ELOOP") return "too many symbolic links";
  return (err as Error).message;
}

async function readBounded(handle: FileHandle, path: string, input: InputFile): Promise<Buffer> {
  const info = await handle.stat();
  if (info.isDirectory()) throw new UserError(`${path} is a directory, not a ${input.what}`, { key: input.key });
  if (!info.isFile()) {
    throw new UserError(`${path} is ${kindOf(info)}, not a regular file; a ${input.what} is read from disk`, { key: input.key });
  }
  if (info.size > input.maxBytes) throw tooBig(path, input, `${info.size} bytes`);
  // Read one byte past the limit: a file that grew since fstat (or reports no size, as /proc does) is still bounded.
  const buffer = Buffer.alloc(input.maxBytes + 1);
  let length = 0;
  while (length < buffer.length) {
    let bytesRead: number;
    try {
      ({ bytesRead } = await handle.read(buffer, length, buffer.length - length, null));
    } catch (err) {
      throw new UserError(`cannot read ${input.what} ${path}: ${(err as Error).message}`, { key: input.key });
    }
    if (bytesRead === 0) break;
    length += bytesRead;
  }
  if (length > input.maxBytes) throw tooBig(path, input, "more than that");
  return buffer.subarray(0, length);
}

function tooBig(path: string, input: InputFile, size: string): UserError {
  return new UserError(`${path} is too large for a ${input.what} (${size}; at most ${input.maxBytes} bytes are read)`, {
    key: input.key,
    ...(input.tooBigHint ? { hint: input.tooBigHint } : {}),
  });
}

function kindOf(info: { isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): string {
  if (info.isFIFO()) return "a FIFO (named pipe)";
  if (info.isCharacterDevice()) return "a character device";
  if (info.isBlockDevice()) return "a block device";
  if (info.isSocket()) return "a socket";
  return "not a regular file";
}

/**
 * The bytes as text, byte for byte (a byte-order mark is kept: the yaml parser skips it). Invalid
 * UTF-8 is a UserError naming where it is: decoding it anyway would turn the bytes into U+FFFD.
 */
export function utf8Text(bytes: Buffer, path: string, key: string): string {
  if (isUtf8(bytes)) return bytes.toString("utf8");
  const offset = firstInvalidByte(bytes);
  const before = bytes.subarray(0, offset);
  const line = before.filter((b) => b === 0x0a).length + 1;
  const col = offset - before.lastIndexOf(0x0a);
  throw new UserError(`${path}:${line}:${col}: not valid UTF-8 (byte offset ${offset}); save the file as UTF-8`, { key });
}

/**
 * Where the first invalid sequence starts. The decoder replaces it with U+FFFD; everything before it
 * decodes to exactly its own bytes, so walking the decoded text and counting each character's UTF-8
 * length finds the offset. A U+FFFD that is really in the file (EF BF BD) is walked past.
 */
function firstInvalidByte(bytes: Buffer): number {
  const text = new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes);
  let offset = 0;
  for (const char of text) {
    if (char === "\ufffd" && !(bytes[offset] === 0xef && bytes[offset + 1] === 0xbf && bytes[offset + 2] === 0xbd)) return offset;
    offset += Buffer.byteLength(char, "utf8");
  }
  return offset;
}

/** A file's UTF-8 text, or undefined when it does not exist; any other failure is thrown as is. */
export async function readTextIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}
