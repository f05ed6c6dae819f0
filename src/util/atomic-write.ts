import { randomBytes } from "node:crypto";
import { unlinkSync, type Stats } from "node:fs";
import { chmod, chown, link, open, rename, unlink, type FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { Readable } from "node:stream";

export interface AtomicWriteOptions {
  /** Mode of a new file (the umask applies). Default 0o666, as for any new file; files with secrets pass 0o600. */
  mode?: number;
  /** An existing file being replaced: its mode (exactly) and, as root, its owner carry over. */
  preserve?: Pick<Stats, "mode" | "uid" | "gid">;
  /**
   * Never replace: the whole file appears at `target` only if nothing (no file, no link) is there,
   * else the write fails with EEXIST and the existing file is untouched. Two writers racing for a
   * new file get one winner, and a reader never sees it half written.
   */
  exclusive?: boolean;
}

/** Signals after which a temporary file must not be left behind (Ctrl-C, `kill`). */
const SIGNALS = ["SIGINT", "SIGTERM"] as const;

/**
 * Writes `target` so that a reader sees the old file or the whole new one, never half: the bytes go
 * to a new temporary file beside it (same file system, created exclusively, so never through a
 * file or link already there), are flushed to disk, and the temporary file is renamed over the
 * target (a link at `target` is replaced, not followed), or linked to it with `exclusive`. On any
 * failure, and on SIGINT or SIGTERM while it writes, the temporary file is removed and the target
 * is left as it was; the signal then takes its usual course (the process ends) unless the program
 * listens for it itself. Returns the bytes written.
 */
export async function writeFileAtomic(
  target: string,
  data: string | Uint8Array | Readable,
  options: AtomicWriteOptions = {},
): Promise<number> {
  const tmp = join(dirname(target), `.${basename(target)}.dify-local-${randomBytes(4).toString("hex")}`);
  // Listening before the file exists: no moment where a Ctrl-C would leave it behind.
  const interrupt = onSignalRemove(tmp, typeof data === "string" || data instanceof Uint8Array ? undefined : data);
  let handle: FileHandle;
  try {
    handle = await open(tmp, "wx", options.mode ?? 0o666);
  } catch (err) {
    interrupt.dispose();
    throw err;
  }
  try {
    const size = await writeAll(handle, data, interrupt);
    await handle.sync();
    await handle.close();
    if (options.preserve) {
      await chmod(tmp, options.preserve.mode & 0o7777);
      if (process.getuid?.() === 0) await chown(tmp, options.preserve.uid, options.preserve.gid);
    }
    if (interrupt.signal) throw interrupted(interrupt.signal);
    if (options.exclusive) {
      await link(tmp, target);
      await unlink(tmp);
    } else await rename(tmp, target);
    return size;
  } catch (err) {
    await handle.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw err;
  } finally {
    interrupt.dispose();
  }
}

interface Interrupt {
  /** The signal that arrived while writing, if one did. */
  signal: NodeJS.Signals | undefined;
  dispose(): void;
}

/**
 * While a write runs: on SIGINT/SIGTERM, remove `tmp` at once (the process may end right after)
 * and stop reading `source`, so a write that outlives the signal fails instead of finishing.
 */
function onSignalRemove(tmp: string, source: Readable | undefined): Interrupt {
  const state: Interrupt = {
    signal: undefined,
    dispose: () => {
      for (const s of SIGNALS) process.removeListener(s, handler);
    },
  };
  function handler(signal: NodeJS.Signals): void {
    state.signal = signal;
    state.dispose();
    source?.destroy(interrupted(signal));
    try {
      unlinkSync(tmp);
    } catch {
      // Already gone.
    }
    // No one else listens: the signal's default action (ending the process), as if we had not.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  }
  for (const s of SIGNALS) process.on(s, handler);
  return state;
}

function interrupted(signal: NodeJS.Signals): Error {
  return Object.assign(new Error(`interrupted by ${signal}; nothing was written`), { code: "EINTR" });
}

async function writeAll(handle: FileHandle, data: string | Uint8Array | Readable, interrupt: Interrupt): Promise<number> {
  if (typeof data === "string" || data instanceof Uint8Array) {
    await handle.writeFile(data);
    return typeof data === "string" ? Buffer.byteLength(data) : data.byteLength;
  }
  // Chunk by chunk through the handle: it stays open for the sync that follows.
  let size = 0;
  for await (const chunk of data) {
    // Leaving the loop destroys the source stream (the download stops).
    if (interrupt.signal) throw interrupted(interrupt.signal);
    const bytes = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Uint8Array);
    await handle.writeFile(bytes);
    size += bytes.byteLength;
  }
  return size;
}
