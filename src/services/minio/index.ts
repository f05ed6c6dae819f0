import type { FileHandle } from "node:fs/promises";
import type * as Minio from "minio";
import { z } from "zod";
import { check, checkUnlessProven, type Check, type Finding } from "../../engine/index.js";
import { messageOf } from "../../errors.js";
import { byteMeter, timed } from "../../util/index.js";
import { bucket, credential, port, region, secret, serviceSchema, withExternal } from "../fields.js";
import { defineService, hostPort, type ExternalTarget, type FactSource, type ServiceContext } from "../service.js";
import {
  ensureBucket,
  probeS3,
  s3Checks,
  s3Credentials,
  s3Endpoints,
  s3Env,
  s3ExternalFindings,
  s3ExternalSchema,
  s3Failure,
  s3Target,
  s3Values,
  type S3External,
} from "./external.js";
import { anonymousPolicy, classifyPolicy } from "./policy.js";
import { signedBucketReads, type BucketReads } from "./signed.js";
import { minioSnapshot } from "./snapshot.js";

export { objectsFromSnapshot, restorableMetadata } from "./snapshot.js";

export { anonymousPolicy, anonymousGrants, classifyPolicy } from "./policy.js";
export type { AnonymousAccess } from "./policy.js";

const minioSection = serviceSchema(
  {
    port: port.default(9000),
    consolePort: port.default(9001),
    rootUser: credential
      .refine((v) => v.length >= 3, "must be at least 3 characters (MinIO's rule)")
      .refine((v) => !/[=,]/.test(v), 'must not contain "=" or "," (reserved by MinIO)')
      .default("minioadmin"),
    rootPassword: secret.refine((v) => v.length >= 8, "must be at least 8 characters (MinIO's rule)").default("minioadmin123"),
    bucket: bucket.default("dify"),
    anonymous: z.enum(["none", "download", "public"]).default("public"),
    region: region.default("us-east-1"),
  },
  { container: "dev-minio", image: "minio/minio", volume: "dev-minio-data", restart: "unless-stopped" },
);
/**
 * MinIO's section; `external: {...}` is any S3 instead (AWS S3 or an S3-compatible service, see
 * `./external.ts`). The keys that describe the local server and its bucket are refused beside it:
 * the external section has its own bucket, region and keys, and its bucket is never made public.
 */
export const minioSchema = withExternal(minioSection, s3ExternalSchema, [
  "port",
  "consolePort",
  "rootUser",
  "rootPassword",
  "bucket",
  "region",
  "anonymous",
]);
export type MinioSettings = z.infer<typeof minioSchema>;

/** Where the MinIO container keeps its data (`minio server /data`); buckets are directories below it. */
export const MINIO_DATA_DIR = "/data";

/** MinIO's root credentials as the running container has them (the seed's `docker exec dev-minio env`). */
export interface MinioCredentials {
  accessKey: string;
  secretKey: string;
  /** "container" when read from the live container, "config" when no container exists, "external" for `minio.external`. */
  source: FactSource;
  /** The external S3 section, when the section says `external`: every method then works on it instead of the container. */
  external?: S3External;
}

/** `minio.external` as the rest of dify-local reads it: its host and port, and the section in `live.external`. */
function externalTarget(ext: S3External, s: MinioSettings): ExternalTarget<MinioSettings, MinioCredentials> {
  const at = s3Target(ext);
  return {
    ...at,
    settings: { ...s, port: at.port, bucket: ext.bucket, region: ext.region },
    live: { accessKey: ext.accessKey ?? "", secretKey: ext.secretKey ?? "", source: "external", external: ext },
  };
}

/** The external section a target carries (only an external target has one). */
function externalOf(t: ExternalTarget<MinioSettings, MinioCredentials>): S3External {
  if (!t.live.external) throw new Error("internal: an external MinIO target without its section");
  return t.live.external;
}

export function liveMinioCredentials(c: MinioSettings, container: { env: Record<string, string> } | undefined): MinioCredentials {
  const user = container?.env.MINIO_ROOT_USER;
  const pass = container?.env.MINIO_ROOT_PASSWORD;
  if (container && user !== undefined && pass !== undefined) return { accessKey: user, secretKey: pass, source: "container" };
  return { accessKey: c.rootUser, secretKey: c.rootPassword, source: "config" };
}

/** The S3 reads of every status, verify and up, against the local MinIO with its live credentials. */
function localReads(ctx: { host: string; settings: Pick<MinioSettings, "port" | "region">; live: MinioCredentials }): BucketReads {
  return signedBucketReads({ host: ctx.host, port: ctx.settings.port, region: ctx.settings.region }, ctx.live);
}

/** An S3 client for the local MinIO with the given credentials. */
export async function minioClient(
  ctx: { host: string; settings: Pick<MinioSettings, "port" | "region"> },
  creds: { accessKey: string; secretKey: string },
): Promise<Minio.Client> {
  // Loaded on first use, like the other protocol clients: CLI start-up stays short.
  const { Client } = await import("minio");
  return new Client({
    endPoint: ctx.host,
    port: ctx.settings.port,
    useSSL: false,
    accessKey: creds.accessKey,
    secretKey: creds.secretKey,
    region: ctx.settings.region,
    pathStyle: true,
    partSize: UPLOAD_PART_BYTES,
  });
}

/**
 * The part size of uploads: one part is in memory at a time (a whole object below it). 10,000
 * parts of 16 MB reach 160 GB.
 */
export const UPLOAD_PART_BYTES = 16 * 1024 * 1024;

/**
 * Uploads `size` bytes of an open file as `key`, holding at most one part in memory: a single PUT
 * up to {@link UPLOAD_PART_BYTES}, else a multipart upload of parts read one at a time at their
 * offsets (the client's own stream upload queues up to 16 parts ahead of the network). A failed
 * multipart upload is aborted, so no parts are left behind. `report` gets the bytes sent so far.
 */
export async function putFile(
  client: Minio.Client,
  bucket: string,
  key: string,
  file: FileHandle,
  size: number,
  report: (bytes: number) => void = () => undefined,
): Promise<{ etag: string }> {
  if (size <= UPLOAD_PART_BYTES) {
    return client.putObject(bucket, key, file.createReadStream({ autoClose: false, start: 0 }).pipe(byteMeter(report)), size);
  }
  const uploadID = await client.initiateNewMultipartUpload(bucket, key, {});
  try {
    const buffer = Buffer.allocUnsafe(UPLOAD_PART_BYTES);
    const etags: Array<{ part: number; etag: string }> = [];
    for (let part = 1, offset = 0; offset < size; part++) {
      const { bytesRead } = await file.read(buffer, 0, Math.min(UPLOAD_PART_BYTES, size - offset), offset);
      if (bytesRead === 0) throw new Error(`the file ended at byte ${offset} of ${size} (did it shrink during the upload?)`);
      const sent = await client.uploadPart(
        { bucketName: bucket, objectName: key, uploadID, partNumber: part, headers: {} },
        buffer.subarray(0, bytesRead),
      );
      etags.push({ part, etag: sent.etag });
      offset += bytesRead;
      report(offset);
    }
    return await client.completeMultipartUpload(bucket, key, uploadID, etags);
  } catch (err) {
    await client.abortMultipartUpload(bucket, key, uploadID).catch(() => undefined);
    throw err;
  }
}

/** One object as a listing reports it. */
export interface ListedObject {
  key: string;
  /** Bytes. */
  size: number;
  /** ISO 8601. */
  lastModified: string;
}

/**
 * Every object under `prefix`, over all pages. ListObjects (V1) paged by the last key seen:
 * without a delimiter these are exactly the pages of V2's continuation tokens, and the marker is a
 * key already decoded (the client hands back NextMarker still URL-encoded). The tests' MinIO
 * stand-in cannot issue V2 tokens at all.
 */
export async function* iterateObjects(client: Minio.Client, bucket: string, prefix = "", pageSize = 1000): AsyncGenerator<ListedObject> {
  let marker = "";
  for (;;) {
    const page = await client.listObjectsQuery(bucket, prefix, marker, { Delimiter: "", MaxKeys: pageSize });
    let last: string | undefined;
    for (const o of page.objects) {
      if (o.name === undefined) continue;
      last = o.name;
      yield { key: o.name, size: o.size ?? 0, lastModified: (o.lastModified ?? new Date(0)).toISOString() };
    }
    if (!page.isTruncated) return;
    // A truncated page that moves no further would restart the listing, forever.
    if (last === undefined || last === marker) throw new Error("the listing was truncated without new keys");
    marker = last;
  }
}

/** MinIO's metadata file in each object's directory. */
export const OBJECT_META = "xl.meta";
/** A data part of a larger object: `KEY/<data-dir uuid>/part.N`. */
const DATA_PART = /(^|\/)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\/part\.\d+$/;

/**
 * The files of a bucket's data directory that are no part of an object. MinIO (every release
 * since its FS mode went in 2022) keeps an object in a directory named by its key: `KEY/xl.meta`,
 * and for larger objects `KEY/<uuid>/part.N`. Any other file was put there by hand, including
 * `x.pem.bak` beside the object `x.pem`. Decided from the names alone, so the doctor needs no
 * listing of the bucket's keys and its cost does not grow with them. Pure.
 */
export function strayFiles(files: readonly string[]): string[] {
  return files.filter((f) => f !== OBJECT_META && !f.endsWith(`/${OBJECT_META}`) && !DATA_PART.test(f));
}

export async function currentPolicy(client: Minio.Client, bucket: string): Promise<string | undefined> {
  try {
    const p = await client.getBucketPolicy(bucket);
    return p || undefined;
  } catch (err) {
    if ((err as { code?: string }).code === "NoSuchBucketPolicy") return undefined;
    throw err;
  }
}

type Ctx = ServiceContext<MinioSettings, MinioCredentials>;

/** What the doctor learns about the bucket. */
export interface MinioDoctorFacts {
  error?: string;
  bucketExists: boolean;
  access: string;
  /** Files in the bucket's data directory that no object key accounts for. */
  strayFiles: string[];
  /** False when the data directory was too large to list within the doctor's bounds: strays may be missing. */
  listedAll?: boolean;
}

/** How long and how far the doctor reads the data directory: it runs when something is wrong, so it must stay quick. */
const STRAY_LIMITS = { timeoutMs: 10_000, maxFiles: 200_000 };

async function doctorFacts(ctx: Ctx): Promise<MinioDoctorFacts> {
  const { bucket: name } = ctx.settings;
  // The data directory is MinIO's, not a filesystem for us: a file there that is no part of an
  // object was copied in directly (the seed's "DO NOT copy files directly to /data/dify/"). Names
  // only, never contents, and without the metadata files (one per object), so 1 GB more costs
  // nothing; what grows is one read per object directory. Started first, so the S3 round trips
  // overlap it. A failure (no bucket directory) shows below as the bucket's absence, through S3.
  const walking = ctx.container
    ? timed("minio data walk", () =>
        ctx.runtime.listFiles(ctx.container?.id ?? "", `${MINIO_DATA_DIR}/${name}`, { ...STRAY_LIMITS, exclude: [OBJECT_META] }),
      )
    : Promise.resolve(undefined);
  walking.catch(() => undefined);
  try {
    const reads = localReads(ctx);
    const bucketExists = await reads.bucketExists(name);
    if (!bucketExists) return { bucketExists, access: "none", strayFiles: [] };
    const [policy, listing] = await Promise.all([reads.bucketPolicy(name), walking]);
    return {
      bucketExists,
      access: classifyPolicy(name, policy),
      strayFiles: strayFiles((listing?.files ?? []).map((f) => f.path)).sort(),
      ...(listing && !listing.complete ? { listedAll: false } : {}),
    };
  } catch (err) {
    return { error: messageOf(err), bucketExists: false, access: "none", strayFiles: [] };
  }
}

/** The doctor's MinIO rule: pure, over what the bucket showed. */
export function minioFindings(c: MinioSettings, f: MinioDoctorFacts): Finding[] {
  const { bucket: name, anonymous, container } = c;
  if (f.error)
    return [
      {
        id: "minio.s3",
        severity: "error",
        what: "MinIO's S3 API refuses the container's own root credentials",
        why: f.error,
        fix: `docker logs ${container}`,
      },
    ];
  if (!f.bucketExists)
    return [
      {
        id: "minio.bucket",
        severity: "error",
        what: `bucket ${name} does not exist`,
        why: "Dify stores plugin packages, build caches, private keys and assets there",
        fix: "dify-local up",
      },
    ];
  const out: Finding[] = [{ id: "minio.bucket", severity: "ok", what: `bucket ${name} exists` }];
  out.push(
    f.access === anonymous
      ? { id: "minio.anonymous", severity: "ok", what: `anonymous access to ${name} is ${anonymous}` }
      : {
          id: "minio.anonymous",
          severity: "error",
          what: `anonymous access to ${name} is ${f.access}, the config wants ${anonymous}`,
          why: "plugin assets are fetched without credentials",
          fix: "dify-local up (sets the bucket policy as `mc anonymous set` does)",
        },
  );
  if (f.listedAll === false)
    out.push({
      id: "minio.direct-files-bound",
      severity: "warning",
      what: `the data directory /data/${name} is too large to check for hand-copied files within ${STRAY_LIMITS.timeoutMs / 1000} s or ${STRAY_LIMITS.maxFiles} candidates; the check stopped early`,
      why: "files copied into the data directory by hand may be among those not read",
      fix: `docker exec ${container} find /data/${name} -type f ! -name ${OBJECT_META} ! -name 'part.*'`,
    });
  if (f.strayFiles.length > 0) {
    const shown = f.strayFiles.slice(0, 5).map((p) => `${MINIO_DATA_DIR}/${name}/${p}`);
    out.push({
      id: "minio.direct-files",
      severity: "warning",
      what: `files in the container's data directory that S3 does not know: ${shown.join(", ")}${f.strayFiles.length > 5 ? ` and ${f.strayFiles.length - 5} more` : ""}`,
      why: "MinIO is object storage, not a filesystem: files copied into /data/<bucket> directly are invisible to Dify",
      fix: `upload through S3 instead: dify-local storage cp LOCAL_FILE ${f.strayFiles[0] ?? "KEY"}; then remove the raw file: docker exec ${container} rm '${shown[0] ?? ""}'`,
    });
  }
  return out;
}

async function minioChecks(ctx: Ctx): Promise<Check[]> {
  const c = ctx.settings;
  const live = ctx.live;
  const reads = localReads(ctx);
  return Promise.all([
    check(
      "minio.credentials",
      "MinIO's root credentials in the container equal the config (values.yaml must use exactly these)",
      `run \`dify-local up\` to recreate ${c.container} with the configured credentials, then render values again (\`dify-local values\`)`,
      () => {
        if (live.source !== "container") throw new Error("the container's environment has no MINIO_ROOT_USER/MINIO_ROOT_PASSWORD");
        if (live.accessKey !== c.rootUser) throw new Error(`container has MINIO_ROOT_USER=${live.accessKey}, config has ${c.rootUser}`);
        if (live.secretKey !== c.rootPassword) throw new Error("container's MINIO_ROOT_PASSWORD differs from minio.rootPassword");
      },
    ),
    checkUnlessProven(
      ctx.proven,
      "minio.auth",
      `S3 on ${ctx.host}:${c.port} accepts the root credentials (ListBuckets)`,
      "check minio.rootUser/rootPassword; `dify-local verify` shows the container's values",
      () => reads.listBuckets(),
    ),
    checkUnlessProven(ctx.proven, "minio.bucket", `bucket ${c.bucket} exists`, "run `dify-local up` to create it", async () => {
      if (!(await reads.bucketExists(c.bucket))) throw new Error("missing");
    }),
    checkUnlessProven(
      ctx.proven,
      "minio.anonymous",
      `bucket ${c.bucket} allows anonymous access "${c.anonymous}"`,
      "run `dify-local up` to set the bucket policy",
      async () => {
        const level = classifyPolicy(c.bucket, await reads.bucketPolicy(c.bucket));
        if (level !== c.anonymous) throw new Error(`anonymous access is ${level}`);
      },
    ),
  ]);
}

/**
 * The local MinIO as any S3-compatible service is described (path-style, its live root
 * credentials, at the address pods reach the host at): its Helm values and `.env` are then made by
 * the same code as an external S3's (`s3Values`, `s3Env`).
 */
function asS3(c: MinioSettings, live: MinioCredentials, host: string): S3External {
  return {
    endpoint: `http://${hostPort(host, c.port)}`,
    region: c.region,
    bucket: c.bucket,
    accessKey: live.accessKey,
    secretKey: live.secretKey,
    useIam: false,
    forcePathStyle: true,
  };
}

export const minio = defineService<typeof minioSchema, MinioCredentials>({
  name: "minio",
  title: "MinIO",
  schema: minioSchema,
  container: {
    dataDir: MINIO_DATA_DIR,
    ports: (c) => [
      { containerPort: 9000, hostPort: c.port, key: "port" },
      { containerPort: 9001, hostPort: c.consolePort, key: "consolePort" },
    ],
    env: (c) => ({ MINIO_ROOT_USER: c.rootUser, MINIO_ROOT_PASSWORD: c.rootPassword }),
    cmd: () => ["server", MINIO_DATA_DIR, "--console-address", ":9001"],
  },
  live: liveMinioCredentials,
  async probe(ctx) {
    // An external S3: its bucket, not the whole account (ListBuckets needs a right Dify does not).
    if (ctx.live.external) return void (await probeS3(ctx.live.external));
    await localReads(ctx).listBuckets();
  },
  async init(ctx) {
    // Created when missing and allowed, left private; never a policy set on someone's bucket.
    if (ctx.live.external) return ensureBucket(ctx.live.external);
    const { bucket: name, anonymous, region } = ctx.settings;
    const reads = localReads(ctx);
    const changes: string[] = [];
    // The MinIO client only for a change, made once.
    let client: Promise<Minio.Client> | undefined;
    const writer = (): Promise<Minio.Client> => (client ??= minioClient(ctx, ctx.live));
    if (!(await reads.bucketExists(name))) {
      await (await writer()).makeBucket(name, region);
      changes.push(`created bucket ${name}`);
    }
    if (classifyPolicy(name, await reads.bucketPolicy(name)) !== anonymous) {
      await (await writer()).setBucketPolicy(name, anonymousPolicy(name, anonymous) ?? "");
      changes.push(`set anonymous access of ${name} to ${anonymous}`);
    }
    return changes;
  },
  checks: (ctx) => (ctx.live.external ? s3Checks(ctx.live.external) : minioChecks(ctx)),
  proves: { probe: ["minio.auth"], init: ["minio.bucket", "minio.anonymous"] },
  endpoints: (c, h) => [
    { label: "S3 API", host: `http://${h.host}:${c.port}`, cluster: `http://${h.cluster}:${c.port}` },
    { label: "Console", host: `http://${h.host}:${c.consolePort}`, cluster: `http://${h.cluster}:${c.consolePort}` },
  ],
  credentials: (c, live) =>
    live.external
      ? s3Credentials(live.external)
      : [
          { label: "access key", value: live.accessKey, secret: false },
          { label: "secret key", value: live.secretKey, secret: true },
          { label: "bucket", value: c.bucket, secret: false },
        ],
  // Chart 3.7's own MinIO is switched off in both modes (enabled, its post-install job waits on it and hangs).
  values: (c, live, o) => s3Values(live.external ?? asS3(c, live, o.host), o.chart),
  env: (c, live, host) => s3Env(live.external ?? asS3(c, live, host)),
  // An external S3 has no data directory of ours to find hand-copied files in: its config-level findings only.
  doctor: async (ctx) => (ctx.live.external ? s3ExternalFindings(ctx.live.external) : minioFindings(ctx.settings, await doctorFacts(ctx))),
  snapshot: minioSnapshot,
  external: { connect: externalTarget, endpoints: (t) => s3Endpoints(externalOf(t)), classify: s3Failure },
});
