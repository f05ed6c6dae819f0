/**
 * `minio.external` and `registry.external` end to end through the library (issue 12): the MinIO
 * stand-in plays an existing S3-compatible service and the registry fixture (the real registry:2)
 * an existing plain registry, both started by this test outside dify-local with their own names,
 * ports and keys; PostgreSQL and Redis stay local containers beside them (mixed modes). `up` makes
 * no container for the external two, creates the bucket there (private), checks both with real
 * round trips; `verify`, `status`, `doctor`, `values` (3.7, 3.9, .env), `storage` and `registry ls`
 * work against them; `down --purge` leaves the bucket, its objects and the registry alone.
 */
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type * as Minio from "minio";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parse } from "yaml";
import {
  doctor,
  down,
  registryList,
  snapshotCreate,
  status,
  storageCopy,
  storageGet,
  storageList,
  up,
  values,
  verify,
  OperationError,
  UserError,
  type ConfigInput,
} from "../../src/index.js";
import { removeContainer, s3Admin, startRegistry, startS3 } from "../support/external-servers.js";
import { cleanup, exists, testConfig } from "../support/stack.js";

const BASE = 29000;
const S3_PORT = BASE + 10;
const REGISTRY_PORT = BASE + 11;
const S3_SERVER = "dlt-extwire-srv-s3";
const REGISTRY_SERVER = "dlt-extwire-srv-registry";
const ACCESS = "extwire-user";
const SECRET = "extwire-secret-9d2f";
const BUCKET = "extwire-dify";
const ENDPOINT = `http://127.0.0.1:${S3_PORT}`;
const PREFIX = `127.0.0.1:${REGISTRY_PORT}/dify-plugins`;

const local = testConfig("extwire", BASE, { qdrant: { enabled: false } });

/** A section of testConfig with `external` instead of its connection keys (refused beside it); the container names stay. */
function external(name: string, ext: Record<string, unknown>, config: ConfigInput = local): ConfigInput {
  const { container, volume, image } = config[name] as Record<string, unknown>;
  return { ...config, [name]: { container, volume, image, external: ext } };
}

const s3External = (over: Record<string, unknown> = {}) => ({
  endpoint: ENDPOINT,
  region: "us-east-1",
  bucket: BUCKET,
  accessKey: ACCESS,
  secretKey: SECRET,
  ...over,
});
/** External S3 and registry, local PostgreSQL and Redis. */
const mixed = external("registry", { prefix: PREFIX, insecure: true }, external("minio", s3External()));

function admin(): Minio.Client {
  return s3Admin(S3_PORT, ACCESS, SECRET);
}

async function keys(bucket: string): Promise<string[]> {
  const page = await admin().listObjectsQuery(bucket, "", "", { Delimiter: "", MaxKeys: 1000 });
  return page.objects.flatMap((o) => (o.name === undefined ? [] : [o.name])).sort();
}

/** Pushes a one-config, no-layer image to the registry fixture, as a plugin build would push its image. */
async function pushImage(repo: string, tag: string): Promise<void> {
  const registry = `http://127.0.0.1:${REGISTRY_PORT}`;
  const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] }, config: {} }));
  const digest = `sha256:${createHash("sha256").update(config).digest("hex")}`;
  const upload = await fetch(`${registry}/v2/${repo}/blobs/uploads/`, { method: "POST" });
  const location = new URL(upload.headers.get("location") ?? "", registry);
  location.searchParams.set("digest", digest);
  expect((await fetch(location, { method: "PUT", body: config })).status).toBe(201);
  const mediaType = "application/vnd.docker.distribution.manifest.v2+json";
  const manifest = {
    schemaVersion: 2,
    mediaType,
    config: { mediaType: "application/vnd.docker.container.image.v1+json", size: config.length, digest },
    layers: [],
  };
  const put = await fetch(`${registry}/v2/${repo}/manifests/${tag}`, {
    method: "PUT",
    body: JSON.stringify(manifest),
    headers: { "content-type": mediaType },
  });
  expect(put.status).toBe(201);
}

describe.skipIf(!inject("engine"))("external S3 and registry wired through up, verify, values, storage and down", () => {
  let dir: string;
  const savedConfigDir = process.env.DIFY_LOCAL_CONFIG_DIR;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "dlt-extwire-"));
    process.env.DIFY_LOCAL_CONFIG_DIR = join(dir, "config");
    await cleanup(local);
    await Promise.all([startS3(S3_SERVER, S3_PORT, ACCESS, SECRET), startRegistry(REGISTRY_SERVER, REGISTRY_PORT)]);
  }, 120_000);

  afterAll(async () => {
    await cleanup(local);
    await Promise.all([removeContainer(S3_SERVER), removeContainer(REGISTRY_SERVER)]);
    await rm(dir, { recursive: true, force: true });
    if (savedConfigDir === undefined) delete process.env.DIFY_LOCAL_CONFIG_DIR;
    else process.env.DIFY_LOCAL_CONFIG_DIR = savedConfigDir;
  });

  it("up makes no container for them, creates the bucket there (private), checks both; local PostgreSQL and Redis run beside", async () => {
    const dry = await up({ config: mixed, dryRun: true });
    expect(dry.plan.items.map((i) => i.component).sort()).toEqual(["postgres", "redis"]);
    expect(dry.external).toEqual([
      { service: "registry", address: `127.0.0.1:${REGISTRY_PORT}`, tls: "no TLS (insecure)" },
      { service: "minio", address: `127.0.0.1:${S3_PORT}`, tls: "no TLS" },
    ]);
    expect(await admin().bucketExists(BUCKET)).toBe(false);

    const result = await up({ config: mixed });
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.changes).toContain(`minio at 127.0.0.1:${S3_PORT}: created bucket ${BUCKET} on ${ENDPOINT} (private)`);
    const ids = result.checks.map((c) => c.id);
    expect(ids).toEqual(
      expect.arrayContaining([
        "minio.external.auth",
        "minio.external.bucket",
        "minio.external.write",
        "registry.external.v2",
        "postgres.auth",
      ]),
    );
    expect(ids).not.toContain("minio.anonymous");
    for (const name of ["minio", "registry"]) {
      expect(await exists("container", `dlt-extwire-${name}`)).toBe(false);
      expect(await exists("volume", `dlt-extwire-${name}-data`)).toBe(false);
    }
    for (const name of ["postgres", "redis"]) expect(await exists("container", `dlt-extwire-${name}`)).toBe(true);
    // Private (no policy at all), and the write check left nothing behind.
    await expect(admin().getBucketPolicy(BUCKET)).rejects.toMatchObject({ code: "NoSuchBucketPolicy" });
    expect(await keys(BUCKET)).toEqual([]);

    const again = await up({ config: mixed });
    expect(again.changes).toEqual([]);
  });

  it("verify, status and doctor treat them as external", async () => {
    const checks = await verify({ config: mixed });
    expect(checks.checks.filter((c) => !c.ok)).toEqual([]);
    expect(checks.checks.map((c) => c.id)).toEqual(expect.arrayContaining(["minio.external.write", "registry.external.v2"]));

    const rows = (await status({ config: mixed })).services;
    expect(rows.find((r) => r.service === "minio")).toMatchObject({
      owner: "external",
      container: "external",
      health: "healthy",
      endpoint: `http://127.0.0.1:${S3_PORT}`,
    });
    expect(rows.find((r) => r.service === "registry")).toMatchObject({ owner: "external", health: "healthy" });

    const findings = (await doctor({ config: mixed })).findings;
    expect(findings.find((f) => f.id === "minio.external")).toMatchObject({ severity: "ok" });
    expect(findings.find((f) => f.id === "registry.external")).toMatchObject({ severity: "ok" });
    expect(findings.find((f) => f.id === "minio.external.plain-http")).toMatchObject({ severity: "warning" });
    // The stray-file check is the local container's data directory: none for an external bucket.
    expect(findings.filter((f) => f.id.startsWith("minio.direct-files") || f.id === "minio.bucket")).toEqual([]);
  });

  it("values for chart 3.7 and 3.9 and the .env carry the external S3 keys and the registry prefix", async () => {
    for (const chart of ["3.7", "3.9"]) {
      const v = parse((await values({ config: mixed, chart })).text ?? "") as Record<string, Record<string, unknown>>;
      expect(v.persistence?.s3).toEqual({
        endpoint: ENDPOINT,
        accessKey: ACCESS,
        secretKey: SECRET,
        region: "us-east-1",
        bucketName: BUCKET,
        addressType: "path",
        useAwsS3: false,
        useAwsManagedIam: false,
      });
      expect(v.plugin_connector).toMatchObject({ imageRepoType: "docker", imageRepoPrefix: PREFIX, insecureImageRepo: true });
      expect(v.minio).toEqual(chart === "3.7" ? { enabled: false } : undefined);
    }
    const env = await values({ config: mixed, format: "env" });
    expect(env.sources).toMatchObject({ minio: "external", postgres: "container" });
    // (Qdrant is disabled here, which values warns about; nothing about the external two.)
    expect(env.warnings.filter((w) => /minio|registry/.test(w))).toEqual([]);
    expect(env.text).toContain(`S3_ENDPOINT=${ENDPOINT}\nS3_REGION=us-east-1\nS3_BUCKET_NAME=${BUCKET}\nS3_ACCESS_KEY=${ACCESS}`);
  });

  it("values for AWS S3 (no endpoint) and ECR, rendered without a round trip: empty endpoint, useAwsS3, ecr", async () => {
    const aws = external(
      "registry",
      { prefix: "123456789012.dkr.ecr.eu-central-1.amazonaws.com/dify-plugins", type: "ecr", customServiceAccount: "builder" },
      external("minio", { region: "eu-central-1", bucket: "acme-dify-wire", accessKey: "AKIAWIRE", secretKey: "aws-secret-wire" }),
    );
    for (const chart of ["3.7", "3.9"]) {
      const v = parse((await values({ config: aws, chart })).text ?? "") as Record<string, Record<string, unknown>>;
      expect(v.persistence?.s3).toMatchObject({
        endpoint: "",
        useAwsS3: true,
        region: "eu-central-1",
        bucketName: "acme-dify-wire",
        accessKey: "AKIAWIRE",
        secretKey: "aws-secret-wire",
      });
      expect(v.plugin_connector).toMatchObject({ imageRepoType: "ecr", insecureImageRepo: false, ecrRegion: "eu-central-1" });
    }
  });

  it("storage cp, ls and get work on the external bucket with its keys", async () => {
    const file = join(dir, "notes.txt");
    await writeFile(file, "uploaded through the external S3\n");
    const copied = await storageCopy({ config: mixed, local: file, key: "docs/" });
    expect(copied).toMatchObject({ bucket: BUCKET, key: "docs/notes.txt", size: 33 });
    expect(await keys(BUCKET)).toEqual(["docs/notes.txt"]);
    expect((await storageList({ config: mixed, prefix: "docs/" })).objects.map((o) => o.key)).toEqual(["docs/notes.txt"]);
    const got = await storageGet({ config: mixed, key: "docs/notes.txt", local: join(dir, "back.txt") });
    expect(await readFile(got.written, "utf8")).toBe("uploaded through the external S3\n");

    const wrong = external("minio", s3External({ secretKey: "not-the-secret-wire" }));
    const err = await storageList({ config: wrong }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OperationError);
    expect((err as Error).message).toMatch(/refused the credentials \(SignatureDoesNotMatch/);
    expect((err as OperationError).hint).toContain("minio.external.accessKey/secretKey");
  });

  it("registry ls lists the external registry under its prefix; ECR is refused with the aws ecr command", async () => {
    await pushImage("dify-plugins/langgenius-openai", "0.1.0");
    await pushImage("someone-else/app", "1");
    expect(await registryList({ config: mixed })).toEqual({
      registry: PREFIX,
      repositories: [{ name: "dify-plugins/langgenius-openai", tags: ["0.1.0"] }],
    });
    const ecr = external("registry", { prefix: "123456789012.dkr.ecr.us-east-1.amazonaws.com/dify-plugins", type: "ecr" });
    const err = await registryList({ config: ecr }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).hint).toContain("aws ecr describe-images");
  });

  it("a wrong secret stops up with the external address and S3's answer (exit 1); snapshot refuses the external store", async () => {
    const wrong = external("minio", s3External({ secretKey: "not-the-secret-up" }));
    const err = await up({ config: wrong }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OperationError);
    expect((err as OperationError).exitCode).toBe(1);
    expect((err as Error).message).toMatch(
      new RegExp(`^MinIO at 127\\.0\\.0\\.1:${S3_PORT} \\(external, no TLS\\): authentication failed: .*SignatureDoesNotMatch`),
    );
    expect((err as Error).message).not.toContain("not-the-secret-up");

    const snap = await snapshotCreate({ config: mixed, dir: join(dir, "snapshots") }).catch((e: unknown) => e);
    expect(snap).toBeInstanceOf(UserError);
    expect((snap as Error).message).toMatch(/is external .*snapshot create covers the stores dify-local runs/);
  });

  it("down --purge leaves the external bucket, its objects and the registry alone, and says so", async () => {
    await admin().putObject(BUCKET, "privkeys/tenant-1/private.pem", Buffer.from("a tenant's key"));
    const result = await down({ config: mixed, purge: true });
    expect(result.externalLeftAlone).toEqual([`registry 127.0.0.1:${REGISTRY_PORT}`, `minio 127.0.0.1:${S3_PORT}`]);
    expect(result.removed.sort()).toEqual(["dlt-extwire-postgres", "dlt-extwire-redis"]);
    expect(await admin().bucketExists(BUCKET)).toBe(true);
    expect(await keys(BUCKET)).toEqual(["docs/notes.txt", "privkeys/tenant-1/private.pem"]);
    const catalog = (await (await fetch(`http://127.0.0.1:${REGISTRY_PORT}/v2/_catalog`)).json()) as { repositories: string[] };
    expect(catalog.repositories).toContain("dify-plugins/langgenius-openai");
    for (const name of [S3_SERVER, REGISTRY_SERVER]) expect(await exists("container", name)).toBe(true);
  });
});
