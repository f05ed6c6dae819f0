import { openAsBlob } from "node:fs";
import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { z } from "zod";
import { OperationError } from "../../errors.js";
import type { ServiceContext } from "../service.js";
import { restoreTarget, runningContainer, type SnapshotCapability } from "../snapshot.js";
import { qdrantClient, qdrantUrl, type QdrantLive, type QdrantSettings } from "./index.js";

type Ctx = ServiceContext<QdrantSettings, QdrantLive>;

const INDEX = "collections.json";
/** How long creating or recovering one collection's snapshot may take. */
const SNAPSHOT_TIMEOUT_MS = 600_000;

const indexSchema = z.array(z.object({ name: z.string(), file: z.string() }));

/** A request to Qdrant's HTTP API with the api-key; a refusal is an error naming it. */
async function call(ctx: Ctx, method: string, path: string, body?: FormData): Promise<Response> {
  const res = await fetch(`${qdrantUrl(ctx)}${path}`, {
    method,
    headers: { "api-key": ctx.settings.apiKey },
    ...(body ? { body } : {}),
    signal: AbortSignal.timeout(SNAPSHOT_TIMEOUT_MS),
  });
  if (!res.ok) throw new OperationError(`Qdrant answered ${method} ${path} with ${res.status}: ${(await res.text()).slice(0, 300)}`);
  return res;
}

/**
 * Qdrant's share of a snapshot: a snapshot of each collection through its snapshot API, downloaded;
 * restored by uploading each (which recreates the collection), after removing the collections the
 * snapshot does not have. The client library has no download or upload, so those two are plain
 * HTTP requests, streamed both ways.
 */
export const qdrantSnapshot: SnapshotCapability<Ctx, QdrantSettings> = {
  async save(ctx, out) {
    runningContainer("Qdrant", ctx.settings.container, ctx.container);
    const client = await qdrantClient(ctx, SNAPSHOT_TIMEOUT_MS);
    const { collections } = await client.getCollections();
    const index: z.infer<typeof indexSchema> = [];
    for (const [i, { name }] of collections.entries()) {
      const snap = await client.createSnapshot(name, { wait: true });
      if (!snap) throw new OperationError(`Qdrant made no snapshot of collection ${name}`);
      const res = await call(ctx, "GET", `/collections/${encodeURIComponent(name)}/snapshots/${encodeURIComponent(snap.name)}`);
      if (!res.body) throw new OperationError(`Qdrant sent an empty snapshot of collection ${name}`);
      const file = `${i}.snapshot`;
      await out.write(file, Readable.fromWeb(res.body as WebReadableStream<Uint8Array>));
      // The server's copy is no longer needed: it would fill Qdrant's snapshot folder.
      await client.deleteSnapshot(name, snap.name);
      index.push({ name, file });
    }
    await out.write(INDEX, `${JSON.stringify(index, null, 2)}\n`);
  },
  replaces: (c) =>
    c.external
      ? `the snapshot's collections in the Qdrant at ${c.external.url} (external; its other collections are kept)`
      : `every collection in ${c.container}`,
  externalNote:
    "Qdrant's collections were restored through its snapshot API, which works between Qdrant servers only: vector data does not carry across engines, so with another vector database re-index the knowledge bases from Dify instead",
  async restore(ctx, input) {
    restoreTarget("Qdrant", ctx);
    const parsed = indexSchema.safeParse(JSON.parse(await input.text(INDEX)));
    if (!parsed.success) throw new OperationError(`the snapshot's Qdrant ${INDEX} is not a list of collections`);
    const client = await qdrantClient(ctx, SNAPSHOT_TIMEOUT_MS);
    const { collections } = await client.getCollections();
    // A shared (external) server keeps the collections the snapshot does not have; an upload replaces one of the same name.
    const removed = ctx.external ? [] : collections;
    for (const { name } of removed) await client.deleteCollection(name);
    for (const { name, file } of parsed.data) {
      const form = new FormData();
      // A Blob backed by the file: the upload streams it from disk.
      form.append("snapshot", await openAsBlob(input.path(file)), `${name}.snapshot`);
      await call(ctx, "POST", `/collections/${encodeURIComponent(name)}/snapshots/upload?priority=snapshot&wait=true`, form);
    }
    if (ctx.external)
      return [`restored the snapshot's ${parsed.data.length} collections into the Qdrant at ${ctx.external.address} (others kept)`];
    return [`replaced ${removed.length} collections with the snapshot's ${parsed.data.length}`];
  },
};
