import { createHash, randomBytes } from "node:crypto";
import { readFileSync, unlinkSync } from "node:fs";
import { link, lstat, mkdir, unlink, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import type { EventSink } from "../engine/index.js";
import { ConflictError, EnvironmentError, messageOf } from "../errors.js";
import { readTextIfExists, sleep } from "../util/index.js";

/** What a lock file holds: who took it, for what, and a token only its owner knows. */
export interface LockHolder {
  pid: number;
  command: string;
  startedAt: string;
  hostname: string;
  engine: string;
  token: string;
}

/** What a command asks the lock for. */
export interface LockRequest {
  /** What identifies the engine: its id, or its address (`unix:///var/run/docker.sock`, `tcp://...`). */
  engine: string;
  /** The names the config gives the stack's containers (and its cluster): the lock is per engine and config. */
  names: readonly string[];
  /** The command taking it, for the messages of those who wait ("up", "down"). */
  command: string;
  /** Wait for the holder to finish (default); false stops at once with a {@link ConflictError}. */
  wait: boolean;
  sink: EventSink;
  signal?: AbortSignal | undefined;
  /** Where `XDG_RUNTIME_DIR` is read from. */
  env: NodeJS.ProcessEnv;
}

/** The locks this process holds, by path, with their tokens: released on exit whatever happens. */
const held = new Map<string, string>();
let exitHook = false;

/**
 * The directory of the lock files: `$XDG_RUNTIME_DIR/dify-local` (per user, on a tmpfs, gone at
 * reboot), else `<os temp dir>/dify-local-<uid>`.
 */
export function lockDir(env: NodeJS.ProcessEnv): string {
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, "dify-local");
  return join(tmpdir(), `dify-local-${process.getuid?.() ?? "user"}`);
}

/** The lock file of one engine and config: named by a hash of the engine's identity and the container names. */
export function lockPath(env: NodeJS.ProcessEnv, engine: string, names: readonly string[]): string {
  const key = createHash("sha256")
    .update([engine, ...[...names].sort()].join("\0"))
    .digest("hex")
    .slice(0, 16);
  return join(lockDir(env), `${key}.lock`);
}

/**
 * A lock on one engine and config, so two `up`/`down` never change the same containers at once.
 * Taken with {@link acquireLock}; released by {@link StackLock.release} and, should the process
 * end without that, by an exit hook. A holder that died without releasing (SIGKILL, a crash) is
 * found by its pid and its lock taken over, with a warning.
 */
export class StackLock {
  constructor(
    readonly path: string,
    private readonly token: string,
  ) {}

  /** Removes the lock file if it is still this lock's (never another process's). */
  async release(): Promise<void> {
    held.delete(this.path);
    const holder = await readHolder(this.path);
    if (holder?.token === this.token) await unlink(this.path).catch(() => undefined);
  }
}

/**
 * Takes the lock of an engine and config: at once when it is free; when another live process
 * holds it, waits (a progress event names it: "waiting for another dify-local up, pid N") or,
 * with `wait: false`, throws a {@link ConflictError} naming that process. The signal ends a wait.
 */
export async function acquireLock(request: LockRequest): Promise<StackLock> {
  const path = lockPath(request.env, request.engine, request.names);
  await ensureDir(lockDir(request.env));
  const me: LockHolder = {
    pid: process.pid,
    command: request.command,
    startedAt: new Date().toISOString(),
    hostname: hostname(),
    engine: request.engine,
    token: randomBytes(12).toString("hex"),
  };
  const waitedSince = Date.now();
  let announced: string | undefined;
  let delay = 50;
  for (;;) {
    request.signal?.throwIfAborted();
    if (await tryCreate(path, me)) {
      remember(path, me.token);
      if (announced) request.sink.emit({ step: "lock", status: "ok", detail: `acquired after ${seconds(waitedSince)}` });
      return new StackLock(path, me.token);
    }
    const holder = await readHolder(path);
    if (holder === undefined) continue; // released between the two calls
    if (!isAlive(holder, path)) {
      // Another process is taking it over: give it a moment.
      if (!(await takeOver(path, holder, me, request.sink))) await sleep(delay, request.signal);
      continue;
    }
    if (!request.wait) throw lockConflict(holder, path);
    if (announced !== holder.token) {
      announced = holder.token;
      request.sink.emit({ step: "lock", status: "start", detail: `waiting for another dify-local ${holder.command}, pid ${holder.pid}` });
    }
    await sleep(delay, request.signal);
    delay = Math.min(Math.round(delay * 1.5), 1000);
  }
}

function lockConflict(holder: LockHolder, path: string): ConflictError {
  return new ConflictError(
    `another dify-local ${holder.command} is running on this engine and config (pid ${holder.pid}, since ${holder.startedAt})`,
    {
      hint: `wait for it to finish, or run without --no-wait to wait for it; if pid ${holder.pid} is not dify-local, delete ${path}`,
    },
  );
}

function seconds(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)}s`;
}

/** The lock directory: made 0700 when missing; refused when it is a link or another user's. */
async function ensureDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const st = await lstat(dir);
    const uid = process.getuid?.();
    if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) {
      throw new EnvironmentError(`the lock directory ${dir} is not a directory of this user`, {
        hint: `remove ${dir}, or set XDG_RUNTIME_DIR to a directory of yours`,
      });
    }
  } catch (err) {
    if (err instanceof EnvironmentError) throw err;
    throw new EnvironmentError(`cannot create the lock directory ${dir}: ${messageOf(err)}`, {
      hint: "set XDG_RUNTIME_DIR to a writable directory of yours",
    });
  }
}

/**
 * Creates `path` holding `holder`, atomically: the content goes to a temporary file first, which
 * is then hard-linked to `path` (fails when `path` exists), so nobody ever reads a half-written lock.
 */
async function tryCreate(path: string, holder: LockHolder): Promise<boolean> {
  const tmp = `${path}.${holder.pid}.${randomBytes(4).toString("hex")}.tmp`;
  await writeFile(tmp, JSON.stringify(holder), { mode: 0o600, flag: "wx" });
  try {
    await link(tmp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

/** The holder of a lock file; undefined when there is none. A file that does not parse is nobody's. */
async function readHolder(path: string): Promise<LockHolder | undefined> {
  const text = await readTextIfExists(path);
  return text === undefined ? undefined : parseHolder(text);
}

function parseHolder(text: string): LockHolder {
  try {
    const data = JSON.parse(text) as Partial<LockHolder>;
    if (typeof data.pid === "number" && typeof data.token === "string") {
      return {
        pid: data.pid,
        token: data.token,
        command: String(data.command ?? "command"),
        startedAt: String(data.startedAt ?? "?"),
        hostname: String(data.hostname ?? ""),
        engine: String(data.engine ?? ""),
      };
    }
  } catch {
    // not JSON: fall through
  }
  return { pid: 0, token: `unreadable:${text.length}`, command: "command", startedAt: "?", hostname: "", engine: "" };
}

/**
 * Whether the holder may still be running. Our own pid counts only for a lock this process holds
 * (a pid reused after a reboot or in a container is not us). A holder on another host is assumed
 * alive: its pid means nothing here.
 */
function isAlive(holder: LockHolder, path: string): boolean {
  if (holder.pid <= 0) return false;
  if (holder.hostname && holder.hostname !== hostname()) return true;
  if (holder.pid === process.pid) return held.get(path) === holder.token;
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes a dead holder's lock. Under a short-lived guard file, so that of several processes
 * finding the same stale lock only one removes it, and only while it is still that stale lock (not
 * a new one another process has just taken).
 */
async function takeOver(path: string, stale: LockHolder, me: LockHolder, sink: EventSink): Promise<boolean> {
  const guard = `${path}.takeover`;
  if (!(await tryCreate(guard, me))) {
    const other = await readHolder(guard);
    if (other && !isAlive(other, guard)) await unlink(guard).catch(() => undefined);
    return false;
  }
  try {
    const current = await readHolder(path);
    if (current?.token !== stale.token) return true;
    await unlink(path);
    sink.emit({
      step: "lock",
      status: "warn",
      detail:
        stale.pid > 0
          ? `took over the lock of dify-local ${stale.command}, pid ${stale.pid}: that process is gone without releasing it (killed?)`
          : `replaced an unreadable lock file ${path}`,
    });
    return true;
  } finally {
    await unlink(guard).catch(() => undefined);
  }
}

/** Keeps a lock to release on exit, whatever ends the process (an exit in a signal handler included). */
function remember(path: string, token: string): void {
  held.set(path, token);
  if (exitHook) return;
  exitHook = true;
  process.once("exit", () => {
    for (const [p, t] of held) {
      try {
        if (parseHolder(readFileSync(p, "utf8")).token === t) unlinkSync(p);
      } catch {
        // gone already
      }
    }
  });
}
