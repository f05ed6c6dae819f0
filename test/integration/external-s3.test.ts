/**
 * External S3 (`minio.external`): the MinIO stand-in (s3rver behind a SigV4-checking front, see
 * test/fixtures/images/README.md) started by this test outside dify-local, with its own name, port
 * and keys, plays the existing S3-compatible service. Proves the real round trips: the probe,
 * classified failures (wrong secret, unknown key, nothing listening, no such name, TLS against
 * plain HTTP), the bucket created when missing and left private, the checks' write probe leaving
 * nothing behind, and nothing of the user's deleted. The registry fixture (the real registry:2
 * server) plays an existing plain registry for `registry.external`'s `GET /v2/` round trip.
 */
import type * as Minio from "minio";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ExternalProbeError } from "../../src/services/minio/external-errors.js";
import { probeRegistry, registryChecks, registryExternalSchema } from "../../src/services/registry/external.js";
import { ensureBucket, PROBE_PREFIX, probeS3, s3Checks, s3ExternalSchema, type S3External } from "../../src/services/minio/external.js";
import { removeContainer, s3Admin, startRegistry, startS3 } from "../support/external-servers.js";

const NAME = "dlt-ext-s3-minio";
const PORT = 27003;
/** Nothing listens here: the unreachable case. */
const CLOSED_PORT = 27009;
const ACCESS = "ext-s3-user";
const SECRET = "ext-s3-secret-4711";
const ENDPOINT = `http://127.0.0.1:${PORT}`;

function ext(over: Partial<Record<keyof S3External, unknown>> = {}): S3External {
  return s3ExternalSchema.parse({
    endpoint: ENDPOINT,
    region: "us-east-1",
    bucket: "ext-dify",
    accessKey: ACCESS,
    secretKey: SECRET,
    ...over,
  });
}

function admin(): Minio.Client {
  return s3Admin(PORT, ACCESS, SECRET);
}

async function keys(client: Minio.Client, bucket: string): Promise<string[]> {
  const page = await client.listObjectsQuery(bucket, "", "", { Delimiter: "", MaxKeys: 1000 });
  return page.objects.flatMap((o) => (o.name === undefined ? [] : [o.name])).sort();
}

async function failure(work: Promise<unknown>): Promise<ExternalProbeError> {
  const err = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ExternalProbeError);
  return err as ExternalProbeError;
}

describe.skipIf(!inject("engine"))("external S3 against the MinIO stand-in", () => {
  beforeAll(() => startS3(NAME, PORT, ACCESS, SECRET));
  afterAll(() => removeContainer(NAME));

  it("probe: one round trip with the credentials; a missing bucket is an answer, not a failure", async () => {
    expect(await probeS3(ext({ bucket: "not-there-yet" }))).toEqual({ url: ENDPOINT, bucketExists: false });
  });

  it("a wrong secret is an auth failure naming the endpoint and S3's code", async () => {
    const err = await failure(probeS3(ext({ secretKey: "not-the-secret-1" })));
    expect(err.kind).toBe("auth");
    expect(err.message).toContain(`S3 at ${ENDPOINT} refused the credentials (SignatureDoesNotMatch`);
    expect(err.hint).toContain("minio.external.accessKey/secretKey");
    expect(err.message).not.toContain("not-the-secret-1");
  });

  it("an unknown access key is an auth failure too (InvalidAccessKeyId)", async () => {
    const err = await failure(probeS3(ext({ accessKey: "nobody-here" })));
    expect(err.kind).toBe("auth");
    expect(err.message).toContain("InvalidAccessKeyId");
  });

  it("a port where nothing listens is unreachable; a name that does not resolve is DNS; https against plain HTTP is TLS", async () => {
    const closed = await failure(probeS3(ext({ endpoint: `http://127.0.0.1:${CLOSED_PORT}` })));
    expect(closed.kind).toBe("unreachable");
    expect(closed.message).toContain(`S3 at http://127.0.0.1:${CLOSED_PORT}: unreachable`);

    // A resolver that is slow to say "no" must not turn this into a timeout (unreachable).
    const dns = await failure(probeS3(ext({ endpoint: "http://no-such-host.invalid:9000" }), { timeoutMs: 30_000 }));
    expect(dns.kind).toBe("dns");
    expect(dns.message).toContain("no-such-host.invalid");

    const tls = await failure(probeS3(ext({ endpoint: `https://127.0.0.1:${PORT}` })));
    expect(tls.kind).toBe("tls");
    expect(tls.message).toContain("TLS handshake failed");
  });

  it("useIam where this machine has no IAM identity says so, as no-credentials, not as an auth failure", async () => {
    // The provider's container-credentials URL pointed at a closed local port: the same answer a
    // laptop gets, without depending on 169.254.169.254 being unreachable here.
    const saved = { full: process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI, token: process.env.AWS_WEB_IDENTITY_TOKEN_FILE };
    process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = `http://127.0.0.1:${CLOSED_PORT}/creds`;
    delete process.env.AWS_WEB_IDENTITY_TOKEN_FILE;
    try {
      const iam = s3ExternalSchema.parse({ region: "us-east-1", bucket: "ext-dify-iam", useIam: true });
      const err = await failure(probeS3(iam));
      expect(err.kind).toBe("no-credentials");
      expect(err.message).toMatch(/^minio.external.useIam is true and this machine has no AWS IAM credentials/);
      expect(err.hint).toContain("IRSA");
    } finally {
      if (saved.full === undefined) delete process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI;
      else process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = saved.full;
      if (saved.token !== undefined) process.env.AWS_WEB_IDENTITY_TOKEN_FILE = saved.token;
    }
  });

  it("ensureBucket creates a missing bucket, private; a rerun changes nothing; what was there stays", async () => {
    const client = admin();
    // The user's own bucket and object beside ours: nothing of theirs may go.
    await client.makeBucket("users-own", "us-east-1");
    await client.putObject("users-own", "keep/me.txt", Buffer.from("mine"));

    expect(await ensureBucket(ext())).toEqual([`created bucket ext-dify on ${ENDPOINT} (private)`]);
    expect(await client.bucketExists("ext-dify")).toBe(true);
    // Private: no bucket policy at all (the local seed's bucket is public; an external one never).
    await expect(client.getBucketPolicy("ext-dify")).rejects.toMatchObject({ code: "NoSuchBucketPolicy" });

    await client.putObject("ext-dify", "privkeys/t1/private.pem", Buffer.from("key"));
    expect(await ensureBucket(ext())).toEqual([]);
    expect(await keys(client, "ext-dify")).toEqual(["privkeys/t1/private.pem"]);
    expect(await keys(client, "users-own")).toEqual(["keep/me.txt"]);
    expect((await client.listBuckets()).map((b) => b.name).sort()).toEqual(["ext-dify", "users-own"]);
  });

  it("ensureBucket with a wrong secret fails as auth and creates nothing", async () => {
    const err = await failure(ensureBucket(ext({ bucket: "never-made", secretKey: "not-the-secret-2" })));
    expect(err.kind).toBe("auth");
    expect(await admin().bucketExists("never-made")).toBe(false);
  });

  it("checks pass: reachable with the keys, bucket there, write probe leaves nothing behind", async () => {
    const client = admin();
    const before = await keys(client, "ext-dify");
    const checks = await s3Checks(ext());
    expect(checks.map((c) => [c.id, c.ok])).toEqual([
      ["minio.external.auth", true],
      ["minio.external.bucket", true],
      ["minio.external.write", true],
    ]);
    expect(checks[2]?.detail).toMatch(new RegExp(`^wrote, read and removed ${PROBE_PREFIX}[0-9a-f]{16}$`));
    expect(await keys(client, "ext-dify")).toEqual(before);
  });

  it("checks with a wrong secret stop at auth with the fix; a missing bucket stops at the bucket", async () => {
    const bad = await s3Checks(ext({ secretKey: "not-the-secret-3" }));
    expect(bad).toHaveLength(1);
    expect(bad[0]).toMatchObject({ id: "minio.external.auth", ok: false });
    expect(bad[0]?.detail).toContain("SignatureDoesNotMatch");
    expect(bad[0]?.fix).toContain("minio.external.accessKey/secretKey");

    const missing = await s3Checks(ext({ bucket: "still-missing" }));
    expect(missing.map((c) => [c.id, c.ok])).toEqual([
      ["minio.external.auth", true],
      ["minio.external.bucket", false],
    ]);
    expect(missing[1]?.fix).toContain("dify-local up");
  });
});

const REGISTRY = "dlt-ext-s3-registry";
const REGISTRY_PORT = 27000;
const REGISTRY_CLOSED_PORT = 27008;

describe.skipIf(!inject("engine"))("external registry against the registry fixture", () => {
  beforeAll(() => startRegistry(REGISTRY, REGISTRY_PORT));
  afterAll(() => removeContainer(REGISTRY));

  it("a plain-HTTP registry with insecure: true answers /v2/", async () => {
    const ext = registryExternalSchema.parse({ prefix: `127.0.0.1:${REGISTRY_PORT}/dify-plugins`, insecure: true });
    expect(await probeRegistry(ext)).toBe("GET /v2/ answered 200 (no credentials needed)");
    expect(await registryChecks(ext)).toEqual([
      {
        id: "registry.external.v2",
        ok: true,
        what: `registry at http://127.0.0.1:${REGISTRY_PORT} answers the Registry API (/v2/)`,
        detail: "GET /v2/ answered 200 (no credentials needed)",
      },
    ]);
  });

  it("the same registry without insecure fails as TLS, and the fix says insecure: true", async () => {
    const ext = registryExternalSchema.parse({ prefix: `127.0.0.1:${REGISTRY_PORT}/dify-plugins` });
    const err = await probeRegistry(ext).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ExternalProbeError);
    expect((err as ExternalProbeError).kind).toBe("tls");
    const [c] = await registryChecks(ext);
    expect(c).toMatchObject({ id: "registry.external.v2", ok: false });
    expect(c?.detail).toContain(`registry at https://127.0.0.1:${REGISTRY_PORT}/v2/: TLS handshake failed`);
    expect(c?.fix).toContain("registry.external.insecure: true");
  });

  it("nothing listening is unreachable", async () => {
    const [c] = await registryChecks(registryExternalSchema.parse({ prefix: `127.0.0.1:${REGISTRY_CLOSED_PORT}/x`, insecure: true }));
    expect(c).toMatchObject({ ok: false });
    expect(c?.detail).toContain(`registry at http://127.0.0.1:${REGISTRY_CLOSED_PORT}/v2/: unreachable`);
  });
});
