import type { Readable } from "node:stream";
import type { Redis } from "ioredis";
import { OperationError, messageOf } from "../../errors.js";
import { pollUntil } from "../../util/index.js";
import type { ServiceContext } from "../service.js";
import { execEnded, readTar, runningContainer, tarOf, type SnapshotCapability, type TarEntry } from "../snapshot.js";
import { redisClient, redisPing, type RedisLive, type RedisSettings } from "./index.js";

type Ctx = ServiceContext<RedisSettings, RedisLive>;

const DUMP = "dump.rdb";
/** How long a BGSAVE, and Redis loading a restored dump, may take. */
const SAVE_TIMEOUT_MS = 300_000;

async function configValue(client: Redis, key: string): Promise<string> {
  const pair = (await client.config("GET", key)) as string[];
  return pair[1] ?? "";
}

/** Where the server keeps its files, as it says (CONFIG GET), and its AOF folder (Redis 7's multi-part AOF; empty before 7). */
async function files(client: Redis): Promise<{ dir: string; dbfilename: string; aofDir: string; aofName: string }> {
  const [dir, dbfilename, aofDir, aofName] = await Promise.all(
    ["dir", "dbfilename", "appenddirname", "appendfilename"].map((k) => configValue(client, k)),
  );
  return { dir: dir ?? "/data", dbfilename: dbfilename || DUMP, aofDir: aofDir ?? "", aofName: aofName || "appendonly.aof" };
}

/**
 * A consistent dump: BGSAVE, then wait until LASTSAVE moves past the time it was started at.
 * LASTSAVE counts whole seconds, so a save in the second of the last one could not be told
 * apart: the wait first lets the server's clock pass the last save.
 */
async function bgsave(client: Redis): Promise<void> {
  const before = await client.lastsave();
  await pollUntil(async () => (Number((await client.time())[0]) > before ? true : undefined), {
    timeoutMs: 5000,
    onTimeout: () => new OperationError("Redis's clock did not move past its last save"),
  });
  // SCHEDULE: when an AOF rewrite runs, the save starts after it instead of failing.
  await client.bgsave("SCHEDULE");
  await pollUntil(async () => ((await client.lastsave()) > before ? true : undefined), {
    timeoutMs: SAVE_TIMEOUT_MS,
    initialMs: 50,
    onTimeout: () => new OperationError(`Redis's BGSAVE did not finish within ${SAVE_TIMEOUT_MS / 1000}s`),
  });
  const info = await client.info("persistence");
  if (!/rdb_last_bgsave_status:ok/.test(info))
    throw new OperationError(`Redis's BGSAVE failed: ${info.match(/rdb_last_bgsave_status:\S+/)?.[0] ?? ""}`);
}

/**
 * The restored dump as the files Redis loads at start: the RDB file and, for Redis 7's AOF, a
 * manifest naming that same RDB as the base with an empty increment. With `appendonly yes` Redis
 * loads the AOF, not dump.rdb; a new manifest of our own makes any older AOF files unreferenced.
 */
function restoreEntries(
  input: { open: () => Readable; size: number },
  f: Awaited<ReturnType<typeof files>>,
  owner: { uid: number; gid: number },
): TarEntry[] {
  const file = (name: string, body: TarEntry["body"], size?: number): TarEntry => ({
    name,
    body,
    ...(size === undefined ? {} : { size }),
    mode: 0o600,
    ...owner,
  });
  const entries: TarEntry[] = [file(f.dbfilename, input.open, input.size)];
  if (!f.aofDir) return entries;
  const base = `${f.aofName}.1.base.rdb`;
  const incr = `${f.aofName}.1.incr.aof`;
  return [
    ...entries,
    { name: f.aofDir, type: "directory", mode: 0o755, ...owner },
    file(`${f.aofDir}/${base}`, input.open, input.size),
    file(`${f.aofDir}/${incr}`, ""),
    file(`${f.aofDir}/${f.aofName}.manifest`, `file ${base} seq 1 type b\nfile ${incr} seq 1 type i\n`),
  ];
}

async function withRedis<T>(ctx: Ctx, body: (client: Redis) => Promise<T>): Promise<T> {
  const client = await redisClient(ctx, ctx.settings.password, SAVE_TIMEOUT_MS);
  try {
    return await body(client);
  } finally {
    client.disconnect();
  }
}

/** Waits until the restarted Redis answers and has loaded its data. */
async function ready(ctx: Ctx): Promise<void> {
  let last = "";
  await pollUntil(
    async () => {
      try {
        return (await redisPing(ctx, ctx.settings.password)) === "PONG" ? true : undefined;
      } catch (err) {
        last = messageOf(err);
        return undefined;
      }
    },
    { timeoutMs: SAVE_TIMEOUT_MS, onTimeout: () => new OperationError(`Redis did not come back after the restore: ${last}`) },
  );
}

/**
 * Redis's share of a snapshot: a consistent dump (BGSAVE) copied out of the container through the
 * Docker archive API; restored by stopping Redis, putting the dump into its volume (archive API)
 * and starting it again.
 */
export const redisSnapshot: SnapshotCapability<Ctx, RedisSettings> = {
  async save(ctx, out) {
    const container = runningContainer("Redis", ctx.settings.container, ctx.container);
    const f = await withRedis(ctx, async (client) => {
      await bgsave(client);
      return files(client);
    });
    let saved = false;
    await readTar(await ctx.runtime.archiveOut(container.id, `${f.dir}/${f.dbfilename}`), async (entry, body) => {
      if (entry.type !== "file" || saved) return;
      await out.write(DUMP, body);
      saved = true;
    });
    if (!saved) throw new OperationError(`Redis's dump ${f.dir}/${f.dbfilename} was not found in ${container.name} after BGSAVE`);
  },
  replaces: (c) => `every key in ${c.container}`,
  notRestoredExternal:
    "Redis is external: its keys are not restored (Dify keeps caches, locks and task queues there, which it refills; a restore over a shared Redis would only drop live state)",
  async restore(ctx, input) {
    const container = runningContainer("Redis", ctx.settings.container, ctx.container);
    if (!input.names.includes(DUMP)) throw new OperationError(`the snapshot has no Redis ${DUMP}`);
    const f = await withRedis(ctx, files);
    // The restored files belong to whoever owns the data folder (the server runs as that user).
    const stat = await ctx.runtime.execStream(container.id, ["stat", "-c", "%u %g", f.dir]);
    const chunks: Buffer[] = [];
    stat.stdout.on("data", (c: Buffer) => chunks.push(c));
    await execEnded(`stat ${f.dir}`, stat.done);
    const [uid, gid] = Buffer.concat(chunks).toString("utf8").trim().split(/\s+/).map(Number);
    const owner = { uid: uid ?? 0, gid: gid ?? 0 };
    await ctx.runtime.stop(container.id);
    const tar = await tarOf(restoreEntries({ open: () => input.open(DUMP), size: input.size(DUMP) }, f, owner));
    await ctx.runtime.archiveIn(container.id, f.dir, tar);
    await ctx.runtime.start(container.id);
    await ready(ctx);
    return [`restored every key of ${container.name} from its dump (${input.size(DUMP)} bytes)`];
  },
};
