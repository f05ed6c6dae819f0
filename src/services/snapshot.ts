import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { OperationError } from "../errors.js";
import type { ExecStream, ObservedContainer } from "../runtime/index.js";

/**
 * Where a service saves its artefacts during `snapshot create`: each is a file of the snapshot
 * folder, streamed in (never held whole in memory), checksummed and listed in the manifest by
 * the snapshot layer. Names are relative to the service's own folder ("dify.dump").
 */
export interface SnapshotWriter {
  /** Writes the artefact `name` from `body`; returns its size in bytes. */
  write(name: string, body: Readable | string): Promise<number>;
}

/** A snapshot's artefacts of one service, already checked against their checksums. */
export interface SnapshotReader {
  /** The artefacts this service saved, in the order it saved them. */
  readonly names: readonly string[];
  /** The artefact as a stream. */
  open(name: string): Readable;
  /** A small artefact (an index, a policy) as text. */
  text(name: string): Promise<string>;
  /** Its path on disk (for libraries that take a file). */
  path(name: string): string;
  size(name: string): number;
}

/**
 * A service's share of snapshots: saving its data into artefacts while its container runs, and
 * putting them back into its (existing) container. Each service uses its own protocol for it
 * (pg_dump, BGSAVE, S3, Qdrant's snapshot API, the Docker archive API).
 */
export interface SnapshotCapability<Ctx, S> {
  save(ctx: Ctx, out: SnapshotWriter): Promise<void>;
  /** What a restore replaces, in words, for the confirmation ("databases dify, audit in dev-postgres"). */
  replaces(settings: S): string;
  /** Replaces the service's data with the artefacts; returns what it did. */
  restore(ctx: Ctx, input: SnapshotReader): Promise<string[]>;
  /**
   * Why its data is not restored when the service is external (Redis: caches and queues); when
   * absent, `restore` handles the external server itself (the context then points at it).
   */
  notRestoredExternal?: string;
  /** What a user must know after a restore into the external server (Qdrant: vectors do not carry across engines). */
  externalNote?: string;
}

/** Waits for a streamed exec to end; a non-zero exit is an {@link OperationError} with its stderr. */
export async function execEnded(what: string, done: ExecStream["done"]): Promise<void> {
  const { exitCode, stderr } = await done;
  if (exitCode !== 0) throw new OperationError(`${what} failed (exit ${exitCode}): ${stderr.trim() || "no output"}`);
}

/**
 * Before a restore step: an external server is reached at the context's address; a container
 * service's container must exist and run.
 */
export function restoreTarget(
  title: string,
  ctx: { settings: { container: string }; container: ObservedContainer | undefined; external?: unknown },
): void {
  if (!ctx.external) runningContainer(title, ctx.settings.container, ctx.container);
}

/** The container a snapshot step works on: it must exist and run. */
export function runningContainer(title: string, name: string, container: ObservedContainer | undefined): ObservedContainer {
  if (!container?.running)
    throw new OperationError(`the ${title} container ${name} ${container ? `is ${container.state}` : "does not exist"}`, {
      hint: "start it with `dify-local up`",
    });
  return container;
}

/** One entry of a tar stream being written: a file streamed from `body` (opened when its turn comes), or text, or a directory. */
export interface TarEntry {
  name: string;
  body?: Readable | (() => Readable) | string;
  /** Bytes of a streamed body (tar needs it up front). */
  size?: number;
  type?: "file" | "directory";
  mode?: number;
  uid?: number;
  gid?: number;
}

/**
 * A tar stream of `entries`, produced as it is read (one entry at a time, each body streamed), so
 * an archive of any size passes through bounded memory. Entries may come from an async source.
 */
export async function tarOf(entries: AsyncIterable<TarEntry> | Iterable<TarEntry>): Promise<Readable> {
  // Loaded on first use: only snapshots write tar streams.
  const { pack } = (await import("tar-stream")).default;
  const tar = pack();
  const fill = async (): Promise<void> => {
    for await (const e of entries) {
      const directory = e.type === "directory";
      const header = {
        name: e.name,
        type: e.type ?? "file",
        mode: e.mode ?? (directory ? 0o755 : 0o644),
        uid: e.uid ?? 0,
        gid: e.gid ?? 0,
      };
      const body = e.body;
      if (directory) tar.entry(header);
      else if (body === undefined || typeof body === "string") {
        await new Promise<void>((resolve, reject) => tar.entry(header, body ?? "", (err) => (err ? reject(err) : resolve())));
      } else await pipeline(typeof body === "function" ? body() : body, tar.entry({ ...header, size: e.size ?? 0 }));
    }
    tar.finalize();
  };
  fill().catch((err: unknown) => tar.destroy(err instanceof Error ? err : new Error(String(err))));
  return tar as unknown as Readable;
}

/**
 * Reads a tar stream entry by entry: `visit` gets each file's header and body, and must consume
 * the body (or resume it) before the next entry comes. Resolves when the archive has been read.
 */
export async function readTar(
  source: NodeJS.ReadableStream,
  visit: (entry: { name: string; size: number; type: string }, body: Readable) => Promise<void>,
): Promise<void> {
  const { extract } = (await import("tar-stream")).default;
  const tar = extract();
  await new Promise<void>((resolve, reject) => {
    tar.on("entry", (header, body, next) => {
      const info = { name: header.name, size: header.size ?? 0, type: header.type ?? "file" };
      const stream = body as unknown as Readable;
      visit(info, stream).then(
        () => {
          stream.resume();
          next();
        },
        (err: unknown) => tar.destroy(err instanceof Error ? err : new Error(String(err))),
      );
    });
    tar.on("finish", resolve);
    tar.on("error", reject);
    source.on("error", (err: Error) => tar.destroy(err));
    source.pipe(tar);
  });
}
