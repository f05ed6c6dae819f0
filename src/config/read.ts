import { constants } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { isUtf8 } from "node:buffer";
import { UserError } from "../errors.js";

/** The largest config file read: a real one is a few hundred bytes. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

// Windows has no O_NONBLOCK; there a FIFO cannot be named by a path anyway.
const NONBLOCK = (constants.O_NONBLOCK as number | undefined) ?? 0;

/**
 * Reads a config file as UTF-8 text, or undefined when it does not exist and `mustExist` is false.
 * Only a regular file of at most {@link MAX_CONFIG_BYTES} is read, and never more than that: a FIFO,
 * a device (`/dev/zero`), a directory or a huge file is refused at once, naming `flag`. The file is
 * opened without blocking (a FIFO with no writer would hang an ordinary open) and its type and size
 * are taken from the open handle, so what is checked is what is read. Invalid UTF-8 is refused with
 * the byte offset, line and column.
 */
export async function readConfigFile(path: string, mustExist: boolean, flag = "--config"): Promise<string | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" && !mustExist) return undefined;
    throw new UserError(`cannot read config file ${path}: ${openProblem(code, err)}`, { key: flag });
  }
  try {
    const bytes = await readBounded(handle, path, flag);
    return decodeUtf8(bytes, path, flag);
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

async function readBounded(handle: FileHandle, path: string, flag: string): Promise<Buffer> {
  const info = await handle.stat();
  if (info.isDirectory()) throw new UserError(`${path} is a directory, not a config file`, { key: flag });
  if (!info.isFile()) {
    throw new UserError(`${path} is ${kindOf(info)}, not a regular file; a config file is read from disk`, { key: flag });
  }
  if (info.size > MAX_CONFIG_BYTES) throw tooBig(path, flag, `${info.size} bytes`);
  // Read one byte past the limit: a file that grew since fstat (or reports no size, as /proc does) is still bounded.
  const buffer = Buffer.alloc(MAX_CONFIG_BYTES + 1);
  let length = 0;
  while (length < buffer.length) {
    let bytesRead: number;
    try {
      ({ bytesRead } = await handle.read(buffer, length, buffer.length - length, null));
    } catch (err) {
      throw new UserError(`cannot read config file ${path}: ${(err as Error).message}`, { key: flag });
    }
    if (bytesRead === 0) break;
    length += bytesRead;
  }
  if (length > MAX_CONFIG_BYTES) throw tooBig(path, flag, "more than that");
  return buffer.subarray(0, length);
}

function tooBig(path: string, flag: string, size: string): UserError {
  return new UserError(`${path} is too large for a config file (${size}; at most ${MAX_CONFIG_BYTES} bytes are read)`, {
    key: flag,
    hint: "point --config at dify-local.yaml, a file of a few hundred bytes",
  });
}

function kindOf(info: { isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): string {
  if (info.isFIFO()) return "a FIFO (named pipe)";
  if (info.isCharacterDevice()) return "a character device";
  if (info.isBlockDevice()) return "a block device";
  if (info.isSocket()) return "a socket";
  return "not a regular file";
}

/** The bytes as text; a byte-order mark is dropped. Invalid UTF-8 is a UserError naming where it is. */
function decodeUtf8(bytes: Buffer, path: string, flag: string): string {
  if (isUtf8(bytes)) return new TextDecoder("utf-8").decode(bytes);
  const offset = firstInvalidByte(bytes);
  const before = bytes.subarray(0, offset);
  const line = before.filter((b) => b === 0x0a).length + 1;
  const col = offset - before.lastIndexOf(0x0a);
  throw new UserError(`${path}:${line}:${col}: not valid UTF-8 (byte offset ${offset}); save the file as UTF-8`, { key: flag });
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
