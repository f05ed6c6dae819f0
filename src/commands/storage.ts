import { lstat, open, stat, type FileHandle } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import type { Stats } from "node:fs";
import type { Readable } from "node:stream";
import type * as Minio from "minio";
import { OperationError, UserError, messageOf } from "../errors.js";
import type { EventSink } from "../engine/index.js";
import {
  classifyS3Error,
  iterateObjects,
  liveMinioCredentials,
  minioClient,
  putFile,
  s3Client,
  s3Location,
  type ListedObject,
  type S3External,
} from "../services/index.js";
import { Stack, type StackOptions } from "../stack/index.js";
import { byteMeter, writeFileAtomic } from "../util/index.js";

/** One object in the bucket, as `storage ls` lists it. */
export type StorageObject = ListedObject;

export interface StorageListOptions extends StackOptions {
  /** Only keys starting with this (`plugin_packages/`); every key when omitted. */
  prefix?: string;
  /** Keys per ListObjects request (1 to 1000, S3's maximum and the default); every page is read. */
  pageSize?: number;
}

export interface StorageListResult {
  bucket: string;
  /** In key order. */
  objects: StorageObject[];
}

export interface StorageCopyOptions extends StackOptions {
  /** The local file to upload (relative to `cwd`). */
  local: string;
  /** The object key; a key ending in `/` gets the file's name appended, as `mc cp` does. */
  key: string;
}

export interface StorageCopyResult {
  bucket: string;
  key: string;
  size: number;
  etag: string;
}

export interface StorageGetOptions extends StackOptions {
  key: string;
  /** Where to write the object (relative to `cwd`; a directory gets the key's last segment). Omitted: the bytes are returned. */
  local?: string;
  /** Overwrite an existing local file. */
  force?: boolean;
}

/** An object being downloaded to no file: its bytes as a stream (the CLI pipes it to stdout). */
export interface StorageReadResult {
  bucket: string;
  key: string;
  /** Bytes, as the server announced them. */
  size: number;
  /** The object's bytes; read it to the end or destroy it. */
  body: Readable;
}

/** The objects under a prefix, one page in memory at a time. */
export interface StorageObjects {
  bucket: string;
  /** In key order; iterating it lists page after page. */
  objects: AsyncGenerator<StorageObject>;
}

export interface StorageGetFileResult {
  /** The absolute path written. */
  written: string;
  size: number;
}

/** The longest key S3 accepts, in UTF-8 bytes. */
const MAX_KEY_BYTES = 1024;

/**
 * Every object in the MinIO bucket under `prefix`, recursively and over all pages (the seed's
 * `mc ls --recursive local/dify`), through the S3 API with the container's live credentials, as
 * they come: memory holds one page whatever the bucket holds.
 */
export async function storageObjects(options: StorageListOptions = {}): Promise<StorageObjects> {
  const prefix = options.prefix === undefined || options.prefix === "" ? "" : checkKey(options.prefix, "prefix");
  const pageSize = options.pageSize ?? 1000;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000)
    throw new UserError(`pageSize must be an integer from 1 to 1000 (got ${pageSize})`, { key: "pageSize" });
  const s3 = await openStorage(options);
  async function* objects(): AsyncGenerator<StorageObject> {
    try {
      yield* iterateObjects(s3.client, s3.bucket, prefix, pageSize);
    } catch (err) {
      throw s3Error(err, s3, "list objects");
    }
  }
  return { bucket: s3.bucket, objects: objects() };
}

/** {@link storageObjects}, collected into one list. */
export async function storageList(options: StorageListOptions = {}): Promise<StorageListResult> {
  const { bucket, objects } = await storageObjects(options);
  const all: StorageObject[] = [];
  for await (const o of objects) all.push(o);
  return { bucket, objects: all };
}

/**
 * Uploads a local file to the bucket under `key` (the seed's "correct way":
 * `mc cp FILE local/dify/KEY`, never a copy into the data directory). An existing object is
 * replaced, as `mc cp` replaces it. A missing, unreadable or directory path is a UserError and
 * nothing is uploaded.
 */
export async function storageCopy(options: StorageCopyOptions): Promise<StorageCopyResult> {
  let key = checkKey(options.key, "key", { folder: true });
  const path = resolve(options.cwd ?? process.cwd(), options.local);
  if (key.endsWith("/")) key = checkKey(key + basename(path), "key");
  // The file is opened before anything else, so the bytes sent are the ones checked here.
  const handle = await openLocal(options.local, path);
  try {
    const { size } = await handle.stat();
    const s3 = await openStorage(options);
    const step = `upload ${key}`;
    try {
      const uploaded = await putFile(s3.client, s3.bucket, key, handle, size, progress(s3.sink, step, size));
      s3.sink.emit({ step, status: "ok", detail: `${size} bytes` });
      return { bucket: s3.bucket, key, size, etag: uploaded.etag };
    } catch (err) {
      throw s3Error(err, s3, `upload ${options.local} to ${key}`);
    }
  } finally {
    await handle.close();
  }
}

/**
 * Downloads the object `key`, streaming. With `local`, writes it there (through a temporary file
 * renamed into place, so a failed download leaves nothing behind) and refuses to replace an
 * existing file unless `force`; without `local`, returns the open stream of its bytes (the CLI
 * pipes it to stdout). Memory stays that of a few chunks whatever the object's size; progress
 * (bytes of total) goes to the sink.
 */
export async function storageGet(options: StorageGetOptions & { local: string }): Promise<StorageGetFileResult>;
export async function storageGet(options: StorageGetOptions & { local?: undefined }): Promise<StorageReadResult>;
export async function storageGet(options: StorageGetOptions): Promise<StorageGetFileResult | StorageReadResult>;
export async function storageGet(options: StorageGetOptions): Promise<StorageGetFileResult | StorageReadResult> {
  const key = checkKey(options.key, "key");
  const target =
    options.local === undefined
      ? undefined
      : await localTarget(options.local, resolve(options.cwd ?? process.cwd(), options.local), key, options.force ?? false);
  const s3 = await openStorage(options);
  let response: Readable & { headers?: Record<string, string | string[] | undefined> };
  try {
    response = await s3.client.getObject(s3.bucket, key);
  } catch (err) {
    throw s3Error(err, s3, `download ${key}`, key);
  }
  const size = Number(response.headers?.["content-length"] ?? 0);
  const step = `download ${key}`;
  const body = response.pipe(byteMeter(progress(s3.sink, step, size)));
  // A broken download is the S3 error it is, whoever reads the stream.
  response.on("error", (err) => body.destroy(s3Error(err, s3, `download ${key}`, key)));
  body.on("end", () => s3.sink.emit({ step, status: "ok", detail: `${size} bytes` }));
  if (target === undefined) return { bucket: s3.bucket, key, size, body };
  return writeDownload(body, target, key);
}

/** Starts a copy's step and returns what reports its bytes to the sink, as image pulls do (a byte bar on a terminal). */
function progress(sink: EventSink, step: string, total: number): (current: number) => void {
  sink.emit({ step, status: "start" });
  return (current) => sink.emit({ step, status: "progress", progress: { current, total } });
}

/**
 * `key` when it is a key relative to the bucket: not empty, not absolute, no `.`, `..` or empty
 * segments (MinIO refuses those, and they read as local paths), at most 1024 bytes. A prefix may
 * end with `/`, and so may a key where `folder` allows it.
 */
function checkKey(key: string, what: "key" | "prefix", allow: { folder?: boolean } = {}): string {
  const example = "keys are relative to the bucket, e.g. plugin_packages/x.difypkg";
  if (key === "") throw new UserError(`the object ${what} is empty`, { key: what.toUpperCase() });
  if (key.startsWith("/") || key.startsWith("\\") || isAbsolute(key) || /^[A-Za-z]:[\\/]/.test(key)) {
    throw new UserError(`the object ${what} "${key}" is an absolute path; ${example}`, { key: what.toUpperCase() });
  }
  const segments = key.split("/");
  const trailing = segments[segments.length - 1] === "";
  if (trailing && what === "key" && !allow.folder)
    throw new UserError(`the object key "${key}" names a folder, not an object; ${example}`, { key: what.toUpperCase() });
  const inner = trailing ? segments.slice(0, -1) : segments;
  const bad = inner.find((s) => s === "" || s === "." || s === "..");
  if (bad !== undefined) {
    throw new UserError(`the object ${what} "${key}" has ${bad === "" ? "an empty" : `a "${bad}"`} segment; ${example}`, {
      key: what.toUpperCase(),
    });
  }
  if (Buffer.byteLength(key, "utf8") > MAX_KEY_BYTES)
    throw new UserError(`the object ${what} is longer than ${MAX_KEY_BYTES} bytes`, { key: what.toUpperCase() });
  return key;
}

/** The live MinIO (its running container's credentials), or the external S3, and an S3 client for them. */
interface Storage {
  client: Minio.Client;
  bucket: string;
  /** The S3 endpoint, for messages. */
  endpoint: string;
  /** The command's progress sink (redacting). */
  sink: EventSink;
  /** Set for `minio.external`: its failures are classified as `up` and `verify` classify them. */
  external?: S3External;
}

/**
 * Validates the configuration (bad input never reaches the engine), then reads the MinIO
 * container's credentials from Docker: `values.yaml` and the server carry the live values, which
 * may differ from the config.
 */
async function openStorage(options: StackOptions): Promise<Storage> {
  const stack = await Stack.open(options);
  const settings = stack.config.minio;
  if (!settings.enabled) throw new UserError("MinIO is disabled in the configuration (minio.enabled: false)", { key: "minio.enabled" });
  // An external S3: its bucket, through its API with its keys (or this machine's IAM identity), as Dify uses it.
  const ext = settings.external;
  if (ext) return { client: await s3Client(ext), bucket: ext.bucket, endpoint: s3Location(ext).url, sink: stack.sink, external: ext };
  const container = (await stack.observe()).get(settings.container);
  if (!container?.running) {
    throw new OperationError(`the MinIO container ${settings.container} ${container ? `is ${container.state}` : "does not exist"}`, {
      hint: "start it with `dify-local up`",
    });
  }
  return {
    client: await minioClient({ host: stack.host, settings }, liveMinioCredentials(settings, container)),
    bucket: settings.bucket,
    endpoint: `http://${stack.host}:${settings.port}`,
    sink: stack.sink,
  };
}

/** An S3 failure as the error the user can act on; `key` turns a missing object into its own message. */
function s3Error(err: unknown, s3: Storage, doing: string, key?: string): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (key !== undefined && (code === "NoSuchKey" || code === "NotFound")) {
    const folder = key.includes("/") ? key.slice(0, key.lastIndexOf("/") + 1) : "";
    return new OperationError(`no object ${key} in bucket ${s3.bucket}`, {
      hint: `\`dify-local storage ls${folder ? ` ${folder}` : ""}\` lists the objects there are`,
      cause: err,
    });
  }
  if (code === "NoSuchBucket") {
    return new OperationError(`the bucket ${s3.bucket} does not exist at ${s3.endpoint}`, {
      hint: "`dify-local up` creates it",
      cause: err,
    });
  }
  if (s3.external) {
    const failure = classifyS3Error(s3.external, err);
    return new OperationError(`could not ${doing} in bucket ${s3.bucket}: ${failure.message}`, {
      hint: failure.hint ?? "`dify-local verify` checks minio.external",
      cause: err,
    });
  }
  if (code === "ECONNREFUSED" || code === "ECONNRESET" || code === "ETIMEDOUT" || code === "EHOSTUNREACH") {
    return new OperationError(`MinIO at ${s3.endpoint} did not answer (${messageOf(err)})`, {
      hint: "`dify-local status` shows its state; `dify-local up` starts it",
      cause: err,
    });
  }
  return new OperationError(`could not ${doing} in bucket ${s3.bucket} at ${s3.endpoint}: ${messageOf(err)}`, {
    hint: "`dify-local verify` checks MinIO's credentials and bucket",
    cause: err,
  });
}

/** Opens a local file for upload; a path that is missing, unreadable or not a regular file is the user's to fix. */
async function openLocal(shown: string, path: string): Promise<FileHandle> {
  // Asked before opening: opening a FIFO waits for a writer, forever if there is none.
  const kind = await stat(path).catch(() => undefined);
  if (kind && !kind.isFile() && !kind.isDirectory())
    throw new UserError(`${shown} is not a regular file (a FIFO, socket or device); storage cp uploads a file of known size`, {
      key: "LOCAL",
    });
  let handle: FileHandle;
  try {
    handle = await open(path, "r");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new UserError(`no file ${shown}`, { key: "LOCAL" });
    if (code === "EACCES" || code === "EPERM") throw new UserError(`cannot read ${shown}: permission denied`, { key: "LOCAL" });
    throw new UserError(`cannot read ${shown}: ${messageOf(err)}`, { key: "LOCAL" });
  }
  // Opening a directory read-only succeeds on Linux and macOS; reading it would fail mid-upload.
  if ((await handle.stat()).isDirectory()) {
    await handle.close();
    throw new UserError(`${shown} is a directory; storage cp uploads one file`, { key: "LOCAL" });
  }
  return handle;
}

/** A local file to write: its absolute path, the path as the user wrote it (for messages), and the regular file it replaces. */
export interface LocalTarget {
  path: string;
  shown: string;
  /** The file `--force` replaces; its mode (and, as root, owner) carry over. Undefined for a new file or a link. */
  replaces: Stats | undefined;
}

/** Where a download goes: `path`, or `path/<last segment of key>` when it is a directory; refuses to clobber without `force`. Exported for tests. */
export async function localTarget(shown: string, path: string, key: string, force: boolean): Promise<LocalTarget> {
  let target = path;
  let existing = await statOrUndefined(target);
  if (existing?.isDirectory()) {
    target = join(path, basename(key));
    shown = join(shown, basename(key));
    existing = await statOrUndefined(target);
  }
  if (existing?.isDirectory()) throw new UserError(`${shown} is a directory`, { key: "LOCAL" });
  if (existing && !force) throw new UserError(`${shown} exists; add --force to overwrite it`, { key: "--force" });
  // A link at the target is replaced by the file, never written through; a regular file keeps its mode.
  const own = existing ? await lstat(target) : undefined;
  return { path: target, shown, replaces: own?.isFile() ? own : undefined };
}

async function statOrUndefined(path: string): Promise<Awaited<ReturnType<typeof stat>> | undefined> {
  try {
    return await stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new UserError(`cannot use ${path}: ${messageOf(err)}`, { key: "LOCAL" });
  }
}

/**
 * Streams the object into a temporary file beside `target`, then renames it into place: a new file
 * is 0600 (objects hold private keys and user data), a replaced one keeps its mode. Ctrl-C during
 * the download removes the temporary file (see `writeFileAtomic`).
 */
export async function writeDownload(
  body: Readable,
  { path: target, shown, replaces }: LocalTarget,
  key: string,
): Promise<StorageGetFileResult> {
  try {
    const size = await writeFileAtomic(target, body, { mode: 0o600, ...(replaces ? { preserve: replaces } : {}) });
    return { written: target, size };
  } catch (err) {
    body.destroy();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new UserError(`cannot write ${shown}: the directory ${dirname(target)} does not exist`, { key: "LOCAL" });
    if (code === "EACCES" || code === "EPERM" || code === "EEXIST")
      throw new UserError(`cannot write ${shown}: ${messageOf(err)}`, { key: "LOCAL" });
    throw new OperationError(`downloading ${key} to ${shown} failed: ${messageOf(err)}`, { cause: err });
  }
}
