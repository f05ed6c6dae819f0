import { randomBytes } from "node:crypto";
import { chmod, chown, open, rename, unlink, type FileHandle } from "node:fs/promises";
import type { Stats } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { Readable } from "node:stream";

export interface AtomicWriteOptions {
  /** Mode of a new file (the umask applies). Default 0o666, as for any new file. */
  mode?: number;
  /** An existing file being replaced: its mode (exactly) and, as root, its owner carry over. */
  preserve?: Pick<Stats, "mode" | "uid" | "gid">;
}

/**
 * Writes `target` so that a reader sees the old file or the whole new one, never half: the bytes go
 * to a new temporary file beside it (same file system), are flushed to disk, and the temporary
 * file is renamed over the target. On any failure the temporary file is removed and the target is
 * left as it was. Returns the bytes written.
 */
export async function writeFileAtomic(
  target: string,
  data: string | Uint8Array | Readable,
  options: AtomicWriteOptions = {},
): Promise<number> {
  const tmp = join(dirname(target), `.${basename(target)}.dify-local-${randomBytes(4).toString("hex")}`);
  // "wx": never through a file or link that is already there.
  const handle = await open(tmp, "wx", options.mode ?? 0o666);
  try {
    const size = await writeAll(handle, data);
    await handle.sync();
    await handle.close();
    if (options.preserve) {
      await chmod(tmp, options.preserve.mode & 0o7777);
      if (process.getuid?.() === 0) await chown(tmp, options.preserve.uid, options.preserve.gid);
    }
    await rename(tmp, target);
    return size;
  } catch (err) {
    await handle.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

async function writeAll(handle: FileHandle, data: string | Uint8Array | Readable): Promise<number> {
  if (typeof data === "string" || data instanceof Uint8Array) {
    await handle.writeFile(data);
    return typeof data === "string" ? Buffer.byteLength(data) : data.byteLength;
  }
  // Chunk by chunk through the handle: it stays open for the sync that follows.
  let size = 0;
  for await (const chunk of data) {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Uint8Array);
    await handle.writeFile(bytes);
    size += bytes.byteLength;
  }
  return size;
}
