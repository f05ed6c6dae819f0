/**
 * `storage cp / ls / get` against a running MinIO stand-in (s3rver behind a SigV4-checking front,
 * see test/fixtures/images/README.md) with the credentials read from the container. Only MinIO
 * is started; the other services are disabled.
 */
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { OperationError, up, UserError, type Event } from "../../src/index.js";
import * as Minio from "minio";
import { Runtime } from "../../src/runtime/index.js";
import { signedBucketReads } from "../../src/services/minio/signed.js";
import { storageCopy, storageGet, storageList } from "../../src/commands/storage.js";
import { cleanup, docker, testConfig } from "../support/stack.js";

const config = testConfig("storage", 21700, {
  registry: { enabled: false },
  postgres: { enabled: false },
  redis: { enabled: false },
  qdrant: { enabled: false },
  // The credentials are read from the container; these differ from the seed's so a fallback to defaults would fail.
  minio: { rootUser: "storage-user", rootPassword: "storage-secret-123" },
});
const KEY = "plugin_packages/x.difypkg";

describe.skipIf(!inject("engine"))("storage cp / ls / get", () => {
  let dir: string;
  let payload: Buffer;
  let local: string;

  beforeAll(async () => {
    await cleanup(config);
    dir = await mkdtemp(join(tmpdir(), "dify-local-storage-"));
    payload = randomBytes(300 * 1024);
    local = join(dir, "x.difypkg");
    await writeFile(local, payload);
    const result = await up({ config });
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);
  });
  afterAll(async () => {
    await cleanup(config);
    await rm(dir, { recursive: true, force: true });
  });

  it("cp uploads a file, ls lists it with its size (with and without a prefix), get returns the same bytes", async () => {
    const copied = await storageCopy({ config, local, key: KEY });
    expect(copied).toMatchObject({ bucket: "dify", key: KEY, size: payload.length });
    expect(copied.etag).toMatch(/^[0-9a-f]{32}$/);
    // A second object elsewhere, for the prefix filter; a key ending in / takes the file's name, as mc does.
    expect(await storageCopy({ config, local, key: "assets/" })).toMatchObject({ key: "assets/x.difypkg" });

    const all = await storageList({ config });
    expect(all.bucket).toBe("dify");
    expect(all.objects.map((o) => o.key)).toEqual(["assets/x.difypkg", KEY]);
    const listed = all.objects.find((o) => o.key === KEY);
    expect(listed?.size).toBe(payload.length);
    expect(Number.isNaN(Date.parse(listed?.lastModified ?? ""))).toBe(false);

    expect((await storageList({ config, prefix: "plugin_packages/" })).objects).toEqual([listed]);
    expect((await storageList({ config, prefix: "plugin" })).objects.map((o) => o.key)).toEqual([KEY]);
    expect((await storageList({ config, prefix: "privkeys/" })).objects).toEqual([]);

    const target = join(dir, "back.difypkg");
    const written = await storageGet({ config, key: KEY, local: target });
    expect(written).toEqual({ written: target, size: payload.length });
    expect((await readFile(target)).equals(payload)).toBe(true);

    const streamed = await storageGet({ config, key: KEY });
    expect(streamed).toMatchObject({ bucket: "dify", key: KEY, size: payload.length });
    expect((await collect(streamed.body)).equals(payload)).toBe(true);
  });

  it("get refuses to overwrite a local file without force, writes into a directory, and leaves no temporary file", async () => {
    const target = join(dir, "existing.bin");
    await writeFile(target, "keep me");
    const refused = storageGet({ config, key: KEY, local: target });
    await expect(refused).rejects.toThrow(UserError);
    await expect(refused).rejects.toThrow(`${target} exists; add --force to overwrite it`);
    expect(await readFile(target, "utf8")).toBe("keep me");

    expect(await storageGet({ config, key: KEY, local: target, force: true })).toEqual({ written: target, size: payload.length });
    expect((await readFile(target)).equals(payload)).toBe(true);

    const into = join(dir, "downloads");
    await mkdir(into);
    expect(await storageGet({ config, key: KEY, local: into, cwd: dir })).toEqual({
      written: join(into, "x.difypkg"),
      size: payload.length,
    });
    expect((await readdir(dir)).filter((n) => n.includes(".dify-local-"))).toEqual([]);
  });

  it("get of a missing key fails with the key and the bucket, and writes nothing", async () => {
    const target = join(dir, "missing.bin");
    const missing = storageGet({ config, key: "plugin_packages/missing.difypkg", local: target });
    await expect(missing).rejects.toThrow(OperationError);
    await expect(missing).rejects.toMatchObject({
      message: "no object plugin_packages/missing.difypkg in bucket dify",
      hint: expect.stringContaining("dify-local storage ls plugin_packages/"),
    });
    await expect(readFile(target)).rejects.toMatchObject({ code: "ENOENT" });
    await expect(storageGet({ config, key: "nothing-here" })).rejects.toThrow("no object nothing-here in bucket dify");
  });

  it("cp of a missing local file, a directory or a FIFO is a UserError and uploads nothing", async () => {
    const gone = join(dir, "gone.difypkg");
    const missing = storageCopy({ config, local: gone, key: "plugin_packages/gone.difypkg" });
    await expect(missing).rejects.toThrow(UserError);
    await expect(missing).rejects.toThrow(`no file ${gone}`);
    await expect(storageCopy({ config, local: dir, key: "plugin_packages/dir.difypkg" })).rejects.toThrow(UserError);
    // A FIFO with no writer: refused at once (opening it would wait forever).
    const fifo = join(dir, "upload.fifo");
    execFileSync("mkfifo", [fifo]);
    await expect(storageCopy({ config, local: fifo, key: "plugin_packages/fifo.difypkg" })).rejects.toThrow(/is not a regular file/);
    const keys = (await storageList({ config, prefix: "plugin_packages/" })).objects.map((o) => o.key);
    expect(keys).toEqual([KEY]);
  });

  it("refuses absolute keys, leading slashes and .. segments", async () => {
    for (const key of ["/plugin_packages/x", "../x", "plugin_packages/../privkeys/k", "a//b", ""]) {
      await expect(storageGet({ config, key })).rejects.toThrow(UserError);
      await expect(storageCopy({ config, local, key })).rejects.toThrow(UserError);
    }
    await expect(storageList({ config, prefix: "/plugin_packages" })).rejects.toThrow(UserError);
    await expect(storageGet({ config, key: "plugin_packages/" })).rejects.toThrow(/names a folder/);
  });

  it("ls reads every page, with keys that need URL encoding as page markers", async () => {
    // Each page ends on a key that only survives when the listing is URL-encoded (encoding-type=url,
    // which the client always asks for and decodes): "+" would come back as a space, "%20" as a space,
    // and a bare "%" would not decode at all. One directory level, so the stand-in's order is S3's.
    const names = ["c0", "c1 with space", "c2+plus", "c3 é", "c4%20", "c5 100%", "c6~名", "c7"].map((n) => `connector_build_caches/${n}`);
    for (const key of names) await storageCopy({ config, local, key });
    const paged = await storageList({ config, prefix: "connector_build_caches/", pageSize: 2 });
    expect(paged.objects.map((o) => o.key)).toEqual(names);
    // A marker is a decoded key: each page size walks the same keys, none twice and none lost.
    for (const pageSize of [1, 3]) {
      expect((await storageList({ config, prefix: "connector_build_caches/", pageSize })).objects.map((o) => o.key)).toEqual(names);
    }
  });

  it("a key with +, %, spaces and unicode round-trips through cp, ls and get", async () => {
    const key = "a+b/c%20d e/ü-名.txt";
    const bytes = Buffer.from("odd key, same bytes\n");
    const file = join(dir, "odd.txt");
    await writeFile(file, bytes);
    expect(await storageCopy({ config, local: file, key })).toMatchObject({ key, size: bytes.length });

    expect((await storageList({ config })).objects.map((o) => o.key)).toContain(key);
    // The prefix goes out URL-escaped and comes back encoded: both ways must match the same key.
    expect((await storageList({ config, prefix: "a+b/c%20d e/" })).objects.map((o) => o.key)).toEqual([key]);
    expect((await storageList({ config, prefix: "a+b/" })).objects.map((o) => o.key)).toEqual([key]);
    // Neither the decoded look-alike ("a b/c d e/") nor the literal "%20" is mistaken for it.
    expect((await storageList({ config, prefix: "a b/" })).objects).toEqual([]);

    expect((await collect((await storageGet({ config, key })).body)).equals(bytes)).toBe(true);
    const into = join(dir, "odd-downloads");
    await mkdir(into);
    expect(await storageGet({ config, key, local: into })).toEqual({ written: join(into, "ü-名.txt"), size: bytes.length });
    expect((await readFile(join(into, "ü-名.txt"))).equals(bytes)).toBe(true);
  });

  it("streams a large object both ways, with byte progress to the sink", async () => {
    const big = join(dir, "big.bin");
    // Over the client's 16 MB part size: a multipart upload of several parts.
    const content = randomBytes(80 * 1024 * 1024);
    await writeFile(big, content);
    const events: Event[] = [];
    const sink = { emit: (e: Event) => void events.push(e) };
    await storageCopy({ config, local: big, key: "big/big.bin", sink });
    const upload = events.filter((e) => e.step === "upload big/big.bin");
    expect(upload[0]?.status).toBe("start");
    expect(upload.filter((e) => e.status === "progress").at(-1)?.progress).toEqual({ current: content.length, total: content.length });
    expect(upload.at(-1)?.status).toBe("ok");

    events.length = 0;
    const read = await storageGet({ config, key: "big/big.bin", sink });
    expect(read.size).toBe(content.length);
    const digest = createHash("sha256");
    for await (const c of read.body) digest.update(c as Uint8Array);
    expect(digest.digest("hex")).toBe(createHash("sha256").update(content).digest("hex"));
    const download = events.filter((e) => e.step === "download big/big.bin");
    expect(download.filter((e) => e.status === "progress").at(-1)?.progress).toEqual({ current: content.length, total: content.length });
    expect(download.at(-1)?.status).toBe("ok");
  });

  it("lists the data directory's names with ls, with find without it, from tar headers without either, and stops at a bound", async () => {
    const runtime = new Runtime(docker);
    const id = (await docker.getContainer("dlt-storage-minio").inspect()).Id;
    // A hand-copied file with a name ls must escape, in a directory with one too.
    const odd = "odd dir/été\nline.bak";
    expect((await runtime.exec(id, ["sh", "-c", 'mkdir -p "/data/dify/odd dir" && printf x > "/data/dify/$1"', "sh", odd])).exitCode).toBe(
      0,
    );
    const full = await runtime.listFiles(id, "/data/dify");
    expect(full?.via).toBe("ls");
    expect(full?.complete).toBe(true);
    // MinIO's layout: a directory per key holding xl.meta.
    const paths = full?.files.map((f) => f.path) ?? [];
    expect(paths).toContain(`${KEY}/xl.meta`);
    expect(paths).toContain(odd);
    const withoutMeta = await runtime.listFiles(id, "/data/dify", { exclude: ["xl.meta"] });
    expect(withoutMeta?.files.filter((f) => f.path.endsWith("xl.meta"))).toEqual([]);
    expect(withoutMeta?.files.length).toBe(paths.length - paths.filter((p) => p.endsWith("/xl.meta")).length);
    const bounded = await runtime.listFiles(id, "/data/dify", { maxFiles: 1 });
    expect(bounded).toMatchObject({ complete: false, via: "ls" });
    expect(bounded?.files).toHaveLength(1);
    expect(await runtime.listFiles(id, "/data/no-such-dir")).toBeUndefined();

    // Each fallback gives the same names (this test's own container loses its tools one by one).
    const sorted = (l: Awaited<ReturnType<Runtime["listFiles"]>>): string[] => (l?.files.map((f) => f.path) ?? []).sort();
    expect((await runtime.exec(id, ["rm", "-f", "/usr/bin/ls", "/bin/ls"])).exitCode).toBe(0);
    const viaFind = await runtime.listFiles(id, "/data/dify");
    expect(viaFind?.via).toBe("find");
    expect(sorted(viaFind)).toEqual([...paths].sort());
    expect(viaFind?.files.every((f) => Number.isInteger(f.size) && (f.size ?? 0) > 0)).toBe(true);
    expect(await runtime.listFiles(id, "/data/dify", { maxFiles: 1 })).toMatchObject({ complete: false, via: "find" });
    expect(await runtime.listFiles(id, "/data/no-such-dir")).toBeUndefined();

    expect((await runtime.exec(id, ["rm", "-f", "/usr/bin/find"])).exitCode).toBe(0);
    const viaArchive = await runtime.listFiles(id, "/data/dify");
    expect(viaArchive?.via).toBe("archive");
    expect(sorted(viaArchive)).toEqual([...paths].sort());
    expect(viaArchive?.files.map((f) => f.size).sort()).toEqual(viaFind?.files.map((f) => f.size).sort());
    expect(sorted(await runtime.listFiles(id, "/data/dify", { exclude: ["xl.meta"] }))).toEqual(sorted(withoutMeta));
    expect(await runtime.listFiles(id, "/data/dify", { maxFiles: 1 })).toMatchObject({ complete: false, via: "archive" });
    expect(await runtime.listFiles(id, "/data/no-such-dir")).toBeUndefined();
  });

  it("the signed reads of status, verify and up answer as the MinIO client does, errors included", async () => {
    const at = { host: "127.0.0.1", port: 21703, region: "us-east-1" };
    const client = (creds: { accessKey: string; secretKey: string }): Minio.Client =>
      new Minio.Client({ endPoint: at.host, port: at.port, useSSL: false, region: at.region, pathStyle: true, ...creds });
    const outcome = (p: Promise<unknown>): Promise<unknown> =>
      p.then(
        (v) => ({ ok: typeof v === "string" ? JSON.parse(v) : v }),
        (e: { code?: string; message?: string }) => ({ code: e.code, message: e.message }),
      );
    const good = { accessKey: "storage-user", secretKey: "storage-secret-123" };
    for (const creds of [good, { ...good, secretKey: "wrong" }, { accessKey: "nobody", secretKey: "x" }]) {
      const signed = signedBucketReads(at, creds);
      const lib = client(creds);
      const listed = await outcome(signed.listBuckets());
      expect(listed).toEqual(await outcome(lib.listBuckets().then(() => undefined)));
      for (const bucket of ["dify", "no-such-bucket"]) {
        // HEAD has no body: the client says AccessDenied for any 403, the signed read gives the
        // code MinIO puts in its x-minio-error-code header, the one ListBuckets gave.
        const exists = await outcome(signed.bucketExists(bucket));
        expect(exists).toEqual(creds === good ? await outcome(lib.bucketExists(bucket)) : listed);
        expect(await outcome(signed.bucketPolicy(bucket))).toEqual(await outcome(lib.getBucketPolicy(bucket)));
      }
    }
    // The bucket's policy is the one `up` set (anonymous: public), read the same both ways.
    expect(JSON.stringify(await outcome(signedBucketReads(at, good).bucketPolicy("dify")))).toContain("s3:GetObject");
    await expect(signedBucketReads({ ...at, port: 1 }, good).listBuckets()).rejects.toThrow(/^S3 ListBuckets: .*ECONNREFUSED/);
  });

  it("a stopped container is an OperationError pointing at `dify-local up`", async () => {
    await docker.getContainer("dlt-storage-minio").stop({ t: 1 });
    const stopped = storageList({ config });
    await expect(stopped).rejects.toThrow(OperationError);
    await expect(stopped).rejects.toMatchObject({
      message: "the MinIO container dlt-storage-minio is exited",
      hint: expect.stringContaining("dify-local up"),
    });
  });
});

async function collect(body: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}
