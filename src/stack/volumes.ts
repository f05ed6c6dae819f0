import { createHash } from "node:crypto";
import { mkdir, unlink } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { readTextIfExists, writeFileAtomic } from "../util/index.js";

/** What dify-local remembers of a data volume it has used: enough to say its data is gone. */
export interface VolumeEntry {
  volume: string;
  component: string;
  /** When dify-local first saw the volume in use by its container. */
  since: string;
}

/**
 * dify-local's state directory: `DIFY_LOCAL_STATE_DIR`, else `$XDG_STATE_HOME/dify-local`, else
 * `~/.local/state/dify-local`.
 */
export function stateDir(env: NodeJS.ProcessEnv): string {
  if (env.DIFY_LOCAL_STATE_DIR) return env.DIFY_LOCAL_STATE_DIR;
  return join(env.XDG_STATE_HOME || join(env.HOME || homedir(), ".local/state"), "dify-local");
}

/**
 * The data volumes dify-local has used on one engine, one small file per volume (so concurrent
 * commands never rewrite each other's entries). The engine forgets a volume that is deleted, and
 * with it the container that used it; this record does not, so `up` and `doctor` can say "this
 * volume held data and is gone" instead of quietly starting a service on an empty one.
 * `down --purge` deletes the entries of the volumes it deletes: a deliberate deletion is not a loss.
 */
export class VolumeRecord {
  private constructor(private readonly dir: string) {}

  /** The record of one engine (its id, or its address), under the state directory of `env`. */
  static of(env: NodeJS.ProcessEnv, engine: string): VolumeRecord {
    const key = createHash("sha256").update(engine).digest("hex").slice(0, 16);
    return new VolumeRecord(join(stateDir(env), "volumes", key));
  }

  private file(volume: string): string {
    return join(this.dir, `${encodeURIComponent(volume)}.json`);
  }

  /** The entry of a volume, when dify-local has used it. */
  async get(volume: string): Promise<VolumeEntry | undefined> {
    const text = await readTextIfExists(this.file(volume));
    if (text === undefined) return undefined;
    try {
      const data = JSON.parse(text) as Partial<VolumeEntry>;
      return { volume, component: String(data.component ?? "?"), since: String(data.since ?? "?") };
    } catch {
      // A damaged entry still says the volume was used.
      return { volume, component: "?", since: "?" };
    }
  }

  /** Remembers a volume in use (keeps the first entry when there is one). */
  async add(volume: string, component: string): Promise<void> {
    if (await this.get(volume)) return;
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const entry: VolumeEntry = { volume, component, since: new Date().toISOString() };
    await writeFileAtomic(this.file(volume), `${JSON.stringify(entry)}\n`, { mode: 0o600 });
  }

  /** Forgets a volume (deleted on purpose). */
  async remove(volume: string): Promise<void> {
    await unlink(this.file(volume)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "ENOENT") throw err;
    });
  }
}

/** The loud message for a volume that held data and was found missing. */
export function dataLostMessage(entry: VolumeEntry, created: boolean): string {
  const since = entry.since === "?" ? "" : ` (in use since ${entry.since})`;
  return created
    ? `volume ${entry.volume} was missing and has been created empty: data from before is lost${since}`
    : `volume ${entry.volume} is missing: its data is lost${since}`;
}
