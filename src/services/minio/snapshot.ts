import type * as Minio from "minio";
import { z } from "zod";
import { OperationError } from "../../errors.js";
import type { ServiceContext } from "../service.js";
import {
  readTar,
  restoreTarget,
  runningContainer,
  tarOf,
  type SnapshotCapability,
  type SnapshotReader,
  type TarEntry,
} from "../snapshot.js";
import { ensureBucket, s3Client, s3Location } from "./external.js";
import { currentPolicy, iterateObjects, minioClient, type MinioCredentials, type MinioSettings } from "./index.js";

type Ctx = ServiceContext<MinioSettings, MinioCredentials>;

const OBJECTS = "objects.tar";
const INDEX = "index.json";

/**
 * Of an object's metadata as the client reports it (its content headers, its user metadata with
 * the `x-amz-meta-` prefix taken off, and other `x-amz-*` response headers), what a PUT must send
 * again: the content headers and the user metadata, never response headers such as
 * x-amz-request-id.
 */
export function restorableMetadata(meta: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(meta)) {
    const k = key.toLowerCase();
    if (typeof value === "string" && !k.startsWith("x-amz-") && !NOT_SENT.has(k)) out[k] = value;
  }
  return out;
}

/** Response headers that are no object's metadata. */
const NOT_SENT = new Set(["content-length", "last-modified", "etag", "date", "server", "accept-ranges", "if-match", "if-none-match"]);

const indexSchema = z.object({
  bucket: z.string(),
  policy: z.string().nullable(),
  objects: z.array(z.object({ key: z.string(), size: z.number().int().nonnegative(), metadata: z.record(z.string()) })),
});
type ObjectIndex = z.infer<typeof indexSchema>;

/** Every object as a tar entry named by its position (keys may be anything S3 allows, tar names may not), recorded in `index`. */
async function* objectEntries(client: Minio.Client, bucket: string, index: ObjectIndex): AsyncGenerator<TarEntry> {
  for await (const o of iterateObjects(client, bucket)) {
    const stat = await client.statObject(bucket, o.key);
    index.objects.push({ key: o.key, size: stat.size, metadata: restorableMetadata(stat.metaData) });
    yield { name: String(index.objects.length - 1), body: await client.getObject(bucket, o.key), size: stat.size, mode: 0o600 };
  }
}

/** Deletes every object, a page of 1,000 keys at a time (the listing goes on after the last key, so deleting behind it is safe). */
async function removeAll(client: Minio.Client, bucket: string): Promise<number> {
  let batch: string[] = [];
  let removed = 0;
  const flush = async (): Promise<void> => {
    if (batch.length > 0) await client.removeObjects(bucket, batch);
    removed += batch.length;
    batch = [];
  };
  for await (const o of iterateObjects(client, bucket)) {
    batch.push(o.key);
    if (batch.length === 1000) await flush();
  }
  await flush();
  return removed;
}

/** The bucket a restore writes into, with a client for it. */
interface TargetBucket {
  client: Minio.Client;
  bucket: string;
  /** Where, in words: "bucket dify" or "bucket shared at s3.example.com:443 (external)". */
  where: string;
}

/**
 * The bucket of the context, with a client: the local MinIO's through its container's
 * credentials, or the external S3's (`minio.external`, in `ctx.live.external`) with its keys or
 * IAM identity, as `storage` reaches it.
 */
export async function targetBucket(ctx: Pick<Ctx, "host" | "settings" | "live">): Promise<TargetBucket> {
  const ext = ctx.live.external;
  if (!ext) return { client: await minioClient(ctx, ctx.live), bucket: ctx.settings.bucket, where: `bucket ${ctx.settings.bucket}` };
  return { client: await s3Client(ext), bucket: ext.bucket, where: `bucket ${ext.bucket} at ${s3Location(ext).url} (external)` };
}

/**
 * MinIO's share of a snapshot: every object of the bucket through S3, with its content type and
 * user metadata, and the bucket policy. Restored through S3 too (never by copying into MinIO's
 * data directory): the bucket's objects are replaced by the snapshot's.
 */
export const minioSnapshot: SnapshotCapability<Ctx, MinioSettings> = {
  async save(ctx, out) {
    runningContainer("MinIO", ctx.settings.container, ctx.container);
    const { bucket } = ctx.settings;
    const client = await minioClient(ctx, ctx.live);
    const index: ObjectIndex = { bucket, policy: (await currentPolicy(client, bucket)) ?? null, objects: [] };
    await out.write(OBJECTS, await tarOf(objectEntries(client, bucket, index)));
    await out.write(INDEX, `${JSON.stringify(index, null, 2)}\n`);
  },
  replaces: (c) =>
    c.external
      ? `the snapshot's objects (privkeys/ included) in bucket ${c.external.bucket} at ${s3Location(c.external).url} (external; objects of the same key overwritten, the others kept; its policy left as it is)`
      : `every object of bucket ${c.bucket} and its policy in ${c.container}`,
  async restore(ctx, input) {
    restoreTarget("MinIO", ctx);
    const parsed = indexSchema.safeParse(JSON.parse(await input.text(INDEX)));
    if (!parsed.success) throw new OperationError(`the snapshot's MinIO ${INDEX} is not an object index`);
    const index = parsed.data;
    const { client, bucket, where } = await targetBucket(ctx);
    // An external bucket is made as `up` makes it (private; a refusal names the right it needs).
    if (ctx.live.external) await ensureBucket(ctx.live.external);
    else if (!(await client.bucketExists(bucket))) await client.makeBucket(bucket, ctx.settings.region);
    // A shared (external) bucket keeps the objects the snapshot does not have, and its policy (never made public).
    const removed = ctx.live.external ? 0 : await removeAll(client, bucket);
    let restored = 0;
    await readTar(input.open(OBJECTS), async (entry, body) => {
      const o = index.objects[Number(entry.name)];
      if (entry.type !== "file" || !o)
        throw new OperationError(`the snapshot's MinIO ${OBJECTS} has an entry ${entry.name} its index does not list`);
      await client.putObject(bucket, o.key, body, entry.size, o.metadata);
      restored++;
    });
    if (restored !== index.objects.length)
      throw new OperationError(`the snapshot's MinIO ${OBJECTS} holds ${restored} of the ${index.objects.length} objects its index lists`);
    if (ctx.live.external) return [`wrote the snapshot's ${restored} objects into ${where} (others kept)`];
    await client.setBucketPolicy(bucket, index.policy ?? "");
    return [`replaced ${removed} objects of bucket ${bucket} with the snapshot's ${restored}, and its policy`];
  },
};

/** At most this much of one object `objectsFromSnapshot` keeps: it reads small objects (PEM keys). */
const MAX_SMALL_OBJECT = 64 * 1024;

/**
 * The text of the objects `keys` in a snapshot's MinIO artefacts, without restoring anything (the
 * key-pair check reads the tenants' private keys this way). Other objects are skipped, not read into memory.
 */
export async function objectsFromSnapshot(input: SnapshotReader, keys: ReadonlySet<string>): Promise<Map<string, string>> {
  const parsed = indexSchema.safeParse(JSON.parse(await input.text(INDEX)));
  if (!parsed.success) throw new OperationError(`the snapshot's MinIO ${INDEX} is not an object index`);
  const index = parsed.data;
  const found = new Map<string, string>();
  await readTar(input.open(OBJECTS), async (entry, body) => {
    const key = index.objects[Number(entry.name)]?.key;
    if (key === undefined || !keys.has(key) || entry.size > MAX_SMALL_OBJECT) return;
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    found.set(key, Buffer.concat(chunks).toString("utf8"));
  });
  return found;
}
