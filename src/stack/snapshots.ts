import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { isAbsolute, join, normalize, sep } from "node:path";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { z } from "zod";
import { ConflictError, OperationError, UserError, messageOf } from "../errors.js";
import type { SnapshotReader, SnapshotWriter } from "../services/index.js";

/**
 * Snapshots on disk: one folder per snapshot under the user's data directory, its artefacts
 * (one folder per service) and a `manifest.json` that lists each with its size and sha256. A
 * snapshot is written into a hidden temporary folder and renamed into place once its manifest is
 * written, so a failed or interrupted create never leaves a folder that looks like a snapshot.
 */

/** The manifest format this dify-local writes and reads. */
export const SNAPSHOT_FORMAT = 1;

export const MANIFEST = "manifest.json";

/** Where dify-local keeps its data: `$DIFY_LOCAL_DATA_DIR`, else the platform's user data directory. */
export function userDataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.DIFY_LOCAL_DATA_DIR) return env.DIFY_LOCAL_DATA_DIR;
  const home = env.HOME || homedir();
  if (platform === "darwin") return join(home, "Library", "Application Support", "dify-local");
  return join(env.XDG_DATA_HOME || join(home, ".local", "share"), "dify-local");
}

/** The folder snapshots live in: `--dir` when given, else `snapshots` in {@link userDataDir}. */
export function snapshotsDir(env: NodeJS.ProcessEnv = process.env, dir?: string, platform: NodeJS.Platform = process.platform): string {
  return dir ?? join(userDataDir(env, platform), "snapshots");
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** `name` when it can name a snapshot folder; a {@link UserError} naming NAME otherwise. */
export function checkSnapshotName(name: string): string {
  if (!NAME.test(name) || name.includes(".."))
    throw new UserError(
      `"${name}" cannot name a snapshot: use letters, digits, ".", "_" and "-" (at most 100, starting with a letter or digit)`,
      {
        key: "NAME",
      },
    );
  return name;
}

/** A name from a moment: 2026-11-27T14-07-15Z (sortable, no characters a file system refuses). */
export function timestampName(now: Date = new Date(), prefix = ""): string {
  return `${prefix}${now
    .toISOString()
    .replace(/\.\d+Z$/, "Z")
    .replaceAll(":", "-")}`;
}

const artefactSchema = z.object({ file: z.string(), size: z.number().int().nonnegative(), sha256: z.string().regex(/^[0-9a-f]{64}$/) });
export type Artefact = z.infer<typeof artefactSchema>;

const manifestSchema = z.object({
  format: z.literal(SNAPSHOT_FORMAT),
  name: z.string(),
  createdAt: z.string(),
  difyLocalVersion: z.string(),
  /** A digest of the configuration the snapshot was taken with (its secrets left out). */
  configDigest: z.string(),
  services: z.array(
    z.object({
      service: z.string(),
      container: z.string(),
      /** The image the data came from, as configured, and its id. */
      image: z.string(),
      imageId: z.string(),
      artefacts: z.array(artefactSchema),
    }),
  ),
  /** dify-local's own files (the chart secrets), so rendered values match the restored data. */
  files: z.array(artefactSchema),
});
export type SnapshotManifest = z.infer<typeof manifestSchema>;

/** Why a manifest cannot be used by this dify-local, before its shape is looked at (a newer format may have another shape). */
export function incompatibility(data: unknown): string | undefined {
  const format = (data as { format?: unknown } | null)?.format;
  if (typeof format !== "number") return "its manifest has no format version: it is not a dify-local snapshot";
  if (format > SNAPSHOT_FORMAT)
    return `it was made by a newer dify-local (snapshot format ${format}; this one reads format ${SNAPSHOT_FORMAT}): upgrade dify-local to restore it`;
  if (format !== SNAPSHOT_FORMAT) return `its snapshot format ${format} is not one this dify-local reads (${SNAPSHOT_FORMAT})`;
  return undefined;
}

/** An artefact's path when it stays inside the snapshot folder (a manifest is data, and data may lie). */
export function artefactPath(folder: string, file: string): string {
  const norm = normalize(file);
  if (file === "" || isAbsolute(file) || norm.startsWith("..") || norm.split(sep).includes("..") || norm === MANIFEST)
    throw new OperationError(`the snapshot's manifest names the file "${file}", which is outside its folder`);
  return join(folder, norm);
}

/** The manifest as read: the manifest, or why it cannot be used. */
export type ReadManifest = { manifest: SnapshotManifest } | { problem: string; incompatible: boolean };

/** Reads and checks a snapshot's manifest; never throws for a bad one (ls lists it as damaged). */
export async function readManifest(folder: string): Promise<ReadManifest> {
  let data: unknown;
  try {
    data = JSON.parse(await readFile(join(folder, MANIFEST), "utf8"));
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === "ENOENT";
    return { problem: missing ? "it has no manifest.json" : `its manifest.json is unreadable (${messageOf(err)})`, incompatible: false };
  }
  const incompatible = incompatibility(data);
  if (incompatible) return { problem: incompatible, incompatible: true };
  const parsed = manifestSchema.safeParse(data);
  if (!parsed.success)
    return { problem: `its manifest.json is malformed (${parsed.error.issues[0]?.message ?? "?"})`, incompatible: false };
  return { manifest: parsed.data };
}

/** Every artefact of a manifest, the services' and dify-local's own. */
export function allArtefacts(m: SnapshotManifest): Artefact[] {
  return [...m.services.flatMap((s) => s.artefacts), ...m.files];
}

/** Total bytes of a snapshot's artefacts. */
export function snapshotSize(m: SnapshotManifest): number {
  return allArtefacts(m).reduce((n, a) => n + a.size, 0);
}

/** What is wrong with one artefact on disk. */
export interface ArtefactProblem {
  file: string;
  problem: string;
}

/** Compares what is on disk with the manifest's record (pure). */
export function artefactProblem(a: Artefact, found: { size: number; sha256?: string } | undefined): ArtefactProblem | undefined {
  if (!found) return { file: a.file, problem: "missing" };
  if (found.size !== a.size) return { file: a.file, problem: `${found.size} bytes, the manifest says ${a.size}` };
  if (found.sha256 !== undefined && found.sha256 !== a.sha256)
    return { file: a.file, problem: "its sha256 differs from the manifest's (changed or damaged)" };
  return undefined;
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(path), hash);
  return hash.digest("hex");
}

/**
 * Checks every artefact of a snapshot: present, of its size and, unless `quick`, of its sha256
 * (read through, never held in memory). Returns the problems; none means intact.
 */
export async function checkArtefacts(folder: string, m: SnapshotManifest, quick = false): Promise<ArtefactProblem[]> {
  const problems: ArtefactProblem[] = [];
  for (const a of allArtefacts(m)) {
    const path = artefactPath(folder, a.file);
    let size: number;
    try {
      const s = await stat(path);
      if (!s.isFile()) throw Object.assign(new Error("not a file"), { code: "ENOENT" });
      size = s.size;
    } catch {
      problems.push({ file: a.file, problem: "missing" });
      continue;
    }
    const found = quick || size !== a.size ? { size } : { size, sha256: await sha256Of(path) };
    const p = artefactProblem(a, found);
    if (p) problems.push(p);
  }
  return problems;
}

/** One snapshot folder as `ls` shows it. */
export interface SnapshotEntry {
  name: string;
  folder: string;
  manifest: SnapshotManifest | undefined;
  /** Empty when the manifest reads and every artefact is there with its size; otherwise what is wrong. */
  problems: string[];
}

/** The snapshots in `dir`, by name; hidden folders (a create in progress or one that failed) are not snapshots. */
export async function listSnapshots(dir: string): Promise<SnapshotEntry[]> {
  let names: string[];
  try {
    names = (await readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory() && !d.name.startsWith(".")).map((d) => d.name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const entries: SnapshotEntry[] = [];
  for (const name of names.sort()) {
    const folder = join(dir, name);
    const read = await readManifest(folder);
    if ("problem" in read) entries.push({ name, folder, manifest: undefined, problems: [read.problem] });
    else {
      const problems = await checkArtefacts(folder, read.manifest, true);
      entries.push({ name, folder, manifest: read.manifest, problems: problems.map((p) => `${p.file}: ${p.problem}`) });
    }
  }
  return entries;
}

/** The folder of an existing snapshot; a {@link UserError} naming NAME when there is none. */
export async function snapshotFolder(dir: string, name: string): Promise<string> {
  const folder = join(dir, checkSnapshotName(name));
  const s = await stat(folder).catch(() => undefined);
  if (!s?.isDirectory())
    throw new UserError(`no snapshot ${name} in ${dir}`, { key: "NAME", hint: "`dify-local snapshot ls` lists the snapshots there are" });
  return folder;
}

/** Hashes what passes through, counting bytes. */
class Hasher extends Transform {
  readonly hash = createHash("sha256");
  size = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: (err?: Error | null, data?: Buffer) => void): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    callback(null, chunk);
  }
}

/** Writes one file 0600 from a stream, hashing it on the way; flushed to disk before it counts. */
async function writeArtefact(path: string, body: Readable | string): Promise<{ size: number; sha256: string }> {
  const hasher = new Hasher();
  const handle = await open(path, "wx", 0o600);
  try {
    const source = typeof body === "string" ? [Buffer.from(body)] : body;
    // Written through the handle chunk by chunk (an fs stream with autoClose off never reports the
    // end to a pipeline), so the file can be flushed to disk before it is closed.
    await pipeline(source, hasher, async (chunks: AsyncIterable<Buffer>) => {
      for await (const chunk of chunks) await handle.write(chunk);
    });
    await handle.sync();
  } finally {
    await handle.close();
  }
  return { size: hasher.size, sha256: hasher.hash.digest("hex") };
}

/** A file name a service gives an artefact: plain, relative, no climbing out of its folder. */
function checkArtefactName(service: string, name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/.test(name) || name.includes(".."))
    throw new OperationError(`${service} named an artefact "${name}", which is not a plain relative file name`);
  return name;
}

/**
 * A snapshot being written: a hidden folder beside the final one, renamed into place by
 * {@link SnapshotDraft.commit} once the manifest is written, or removed by {@link SnapshotDraft.abort}.
 */
export class SnapshotDraft {
  private readonly artefacts = new Map<string, Artefact[]>();

  private constructor(
    readonly name: string,
    readonly folder: string,
    private readonly temp: string,
  ) {}

  /** Starts a snapshot `name` in `dir`; a {@link ConflictError} when one of that name exists. */
  static async begin(dir: string, name: string): Promise<SnapshotDraft> {
    const folder = join(dir, checkSnapshotName(name));
    if (await stat(folder).catch(() => undefined))
      throw new ConflictError(`a snapshot ${name} already exists in ${dir}`, {
        hint: `choose another name, or remove it first: dify-local snapshot rm ${name}`,
      });
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const temp = join(dir, `.${name}.partial-${randomBytes(4).toString("hex")}`);
    await mkdir(temp, { mode: 0o700 });
    return new SnapshotDraft(name, folder, temp);
  }

  /** Where `group`'s artefacts go ("postgres", or "dify-local" for dify-local's own files). */
  writer(group: string): SnapshotWriter {
    const list: Artefact[] = [];
    this.artefacts.set(group, list);
    return {
      write: async (name, body) => {
        const file = `${group}/${checkArtefactName(group, name)}`;
        const path = join(this.temp, file);
        await mkdir(join(path, ".."), { recursive: true, mode: 0o700 });
        const written = await writeArtefact(path, body);
        list.push({ file, ...written });
        return written.size;
      },
    };
  }

  /** The artefacts written for `group`, in order. */
  written(group: string): Artefact[] {
    return this.artefacts.get(group) ?? [];
  }

  /** Writes the manifest, then renames the folder into place: only now does the snapshot exist. */
  async commit(manifest: SnapshotManifest): Promise<void> {
    await writeArtefact(join(this.temp, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    try {
      await rename(this.temp, this.folder);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOTEMPTY" || code === "EEXIST")
        throw new ConflictError(`a snapshot ${this.name} appeared in ${join(this.folder, "..")} while this one was written`);
      throw err;
    }
  }

  /** Removes what was written (after a failure). */
  async abort(): Promise<void> {
    await rm(this.temp, { recursive: true, force: true });
  }
}

/** A service's artefacts of a checked snapshot, for its restore. */
export function snapshotReader(folder: string, artefacts: readonly Artefact[], group: string): SnapshotReader {
  const prefix = `${group}/`;
  const byName = new Map(artefacts.map((a) => [a.file.startsWith(prefix) ? a.file.slice(prefix.length) : a.file, a]));
  const get = (name: string): Artefact => {
    const a = byName.get(name);
    if (!a) throw new OperationError(`the snapshot has no ${group} artefact ${name}`);
    return a;
  };
  return {
    names: [...byName.keys()],
    open: (name) => createReadStream(artefactPath(folder, get(name).file)),
    text: (name) => readFile(artefactPath(folder, get(name).file), "utf8"),
    path: (name) => artefactPath(folder, get(name).file),
    size: (name) => get(name).size,
  };
}

/** A digest of a configuration without its secrets: tells whether a snapshot was taken with the same settings. */
export function configDigest(config: unknown, secrets: readonly string[]): string {
  const hidden = new Set(secrets);
  const canonical = (v: unknown): unknown => {
    if (typeof v === "string" && hidden.has(v)) return "<secret>";
    if (Array.isArray(v)) return v.map(canonical);
    if (v && typeof v === "object")
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
      );
    return v;
  };
  return `sha256:${createHash("sha256")
    .update(JSON.stringify(canonical(config)))
    .digest("hex")}`;
}
