import type * as Minio from "minio";
import type { Config } from "../../config/index.js";
import type { ObservedContainer } from "../../runtime/index.js";
import { CLUSTER_HOST, PROBE_TIMEOUT_MS, check, probeHost, withTimeout, type Component, type ServiceContext } from "../component.js";
import { anonymousPolicy, classifyPolicy } from "./policy.js";

export { anonymousPolicy, anonymousGrants, classifyPolicy } from "./policy.js";
export type { AnonymousAccess } from "./policy.js";

/** Where the MinIO container keeps its data (`minio server /data`); buckets are directories below it. */
export const MINIO_DATA_DIR = "/data";

/** MinIO's root credentials as the running container has them (the seed's `docker exec dev-minio env`). */
export interface MinioCredentials {
  accessKey: string;
  secretKey: string;
  /** "container" when read from the live container, "config" when no container exists. */
  source: "container" | "config";
}

export function liveMinioCredentials(config: Config, container: ObservedContainer | undefined): MinioCredentials {
  const user = container?.env.MINIO_ROOT_USER;
  const pass = container?.env.MINIO_ROOT_PASSWORD;
  if (container && user !== undefined && pass !== undefined) return { accessKey: user, secretKey: pass, source: "container" };
  return { accessKey: config.minio.rootUser, secretKey: config.minio.rootPassword, source: "config" };
}

/** An S3 client for the local MinIO with the given credentials. */
export async function minioClient(ctx: Pick<ServiceContext, "config" | "host">, creds: { accessKey: string; secretKey: string }): Promise<Minio.Client> {
  // Loaded on first use, like the other protocol clients: CLI start-up stays short.
  const { Client } = await import("minio");
  return new Client({
    endPoint: ctx.host,
    port: ctx.config.minio.port,
    useSSL: false,
    accessKey: creds.accessKey,
    secretKey: creds.secretKey,
    region: ctx.config.minio.region,
    pathStyle: true,
  });
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
export async function listAllObjects(client: Minio.Client, bucket: string, prefix = "", pageSize = 1000): Promise<ListedObject[]> {
  const objects: ListedObject[] = [];
  let marker = "";
  for (;;) {
    const page = await client.listObjectsQuery(bucket, prefix, marker, { Delimiter: "", MaxKeys: pageSize });
    for (const o of page.objects) {
      if (o.name !== undefined) objects.push({ key: o.name, size: o.size ?? 0, lastModified: (o.lastModified ?? new Date(0)).toISOString() });
    }
    if (!page.isTruncated) return objects;
    const last = objects.at(-1)?.key;
    // A truncated page that moves no further would restart the listing, forever.
    if (last === undefined || last === marker) throw new Error("the listing was truncated without new keys");
    marker = last;
  }
}

async function currentPolicy(client: Minio.Client, bucket: string): Promise<string | undefined> {
  try {
    const p = await client.getBucketPolicy(bucket);
    return p || undefined;
  } catch (err) {
    if ((err as { code?: string }).code === "NoSuchBucketPolicy") return undefined;
    throw err;
  }
}

export const minio: Component = {
  name: "minio",
  title: "MinIO",
  spec(config) {
    const c = config.minio;
    return {
      component: "minio",
      name: c.container,
      image: c.image,
      env: { MINIO_ROOT_USER: c.rootUser, MINIO_ROOT_PASSWORD: c.rootPassword },
      cmd: ["server", MINIO_DATA_DIR, "--console-address", ":9001"],
      ports: [
        { containerPort: 9000, hostPort: c.port, hostIp: config.bind, key: "minio.port" },
        { containerPort: 9001, hostPort: c.consolePort, hostIp: config.bind, key: "minio.consolePort" },
      ],
      volumes: [{ volume: c.volume, target: MINIO_DATA_DIR }],
      restart: c.restart,
    };
  },
  async probe(ctx) {
    const creds = liveMinioCredentials(ctx.config, ctx.container);
    await withTimeout("S3 ListBuckets", PROBE_TIMEOUT_MS, (await minioClient(ctx, creds)).listBuckets());
  },
  async init(ctx) {
    const { bucket, anonymous, region } = ctx.config.minio;
    const client = await minioClient(ctx, liveMinioCredentials(ctx.config, ctx.container));
    const changes: string[] = [];
    if (!(await client.bucketExists(bucket))) {
      await client.makeBucket(bucket, region);
      changes.push(`created bucket ${bucket}`);
    }
    if (classifyPolicy(bucket, await currentPolicy(client, bucket)) !== anonymous) {
      await client.setBucketPolicy(bucket, anonymousPolicy(bucket, anonymous) ?? "");
      changes.push(`set anonymous access of ${bucket} to ${anonymous}`);
    }
    return changes;
  },
  async checks(ctx) {
    const c = ctx.config.minio;
    const live = liveMinioCredentials(ctx.config, ctx.container);
    const client = await minioClient(ctx, live);
    return [
      await check(
        "minio.credentials",
        "MinIO's root credentials in the container equal the config (values.yaml must use exactly these)",
        `run \`dify-local up\` to recreate ${c.container} with the configured credentials, then render values again (\`dify-local values\`)`,
        async () => {
          if (live.source !== "container") throw new Error("the container's environment has no MINIO_ROOT_USER/MINIO_ROOT_PASSWORD");
          if (live.accessKey !== c.rootUser) throw new Error(`container has MINIO_ROOT_USER=${live.accessKey}, config has ${c.rootUser}`);
          if (live.secretKey !== c.rootPassword) throw new Error("container's MINIO_ROOT_PASSWORD differs from minio.rootPassword");
        },
      ),
      await check("minio.auth", `S3 on ${ctx.host}:${c.port} accepts the root credentials (ListBuckets)`, "check minio.rootUser/rootPassword; `dify-local verify` shows the container's values", async () => {
        await withTimeout("S3 ListBuckets", PROBE_TIMEOUT_MS, client.listBuckets());
      }),
      await check("minio.bucket", `bucket ${c.bucket} exists`, "run `dify-local up` to create it", async () => {
        if (!(await client.bucketExists(c.bucket))) throw new Error("missing");
      }),
      await check("minio.anonymous", `bucket ${c.bucket} allows anonymous access "${c.anonymous}"`, "run `dify-local up` to set the bucket policy", async () => {
        const level = classifyPolicy(c.bucket, await currentPolicy(client, c.bucket));
        if (level !== c.anonymous) throw new Error(`anonymous access is ${level}`);
      }),
    ];
  },
  endpoints(config) {
    const c = config.minio;
    const h = probeHost(config);
    return [
      { label: "S3 API", host: `http://${h}:${c.port}`, cluster: `http://${CLUSTER_HOST}:${c.port}` },
      { label: "Console", host: `http://${h}:${c.consolePort}`, cluster: `http://${CLUSTER_HOST}:${c.consolePort}` },
    ];
  },
  credentials(config, container) {
    const live = liveMinioCredentials(config, container);
    return [
      { label: "access key", value: live.accessKey, secret: false },
      { label: "secret key", value: live.secretKey, secret: true },
      { label: "bucket", value: config.minio.bucket, secret: false },
    ];
  },
};
