/**
 * An external S3 and an external registry through the built CLI (issue 12): the MinIO stand-in and
 * the registry fixture, started by the test outside dify-local, play an existing S3-compatible
 * service and a plain registry; the secret key comes from the environment (`${NAME}` in the file).
 * `up` makes no container and creates the bucket there, `verify` checks both, `values` renders
 * their facts for chart 3.7 and 3.9, `storage ls` lists the external bucket, `registry ls` refuses
 * ECR (exit 2), and `down --purge --yes` leaves the bucket and its objects alone, saying so.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type * as Minio from "minio";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parse } from "yaml";
import { runCli } from "../support/cli.js";
import { removeContainer, s3Admin, startRegistry, startS3 } from "../support/external-servers.js";
import { exists } from "../support/stack.js";

const BASE = 29500;
const S3_PORT = BASE + 10;
const REGISTRY_PORT = BASE + 11;
const SERVERS = ["dlt-extwire-cli-srv-s3", "dlt-extwire-cli-srv-registry"];
const ACCESS = "extwire-cli-user";
const SECRET = "extwire-cli-secret-51ac";
const BUCKET = "extwire-cli-dify";

const config = (registry: string): string =>
  [
    "postgres: { enabled: false }",
    "redis: { enabled: false }",
    "qdrant: { enabled: false }",
    "cluster: { enabled: false }",
    "minio:",
    "  container: dlt-extwire-cli-minio",
    "  volume: dlt-extwire-cli-minio-data",
    "  external:",
    `    endpoint: http://127.0.0.1:${S3_PORT}`,
    `    bucket: ${BUCKET}`,
    `    accessKey: ${ACCESS}`,
    "    secretKey: ${DLT_EXTWIRE_CLI_S3_SECRET}",
    "registry:",
    "  container: dlt-extwire-cli-registry",
    `  external: ${registry}`,
    "",
  ].join("\n");

function admin(): Minio.Client {
  return s3Admin(S3_PORT, ACCESS, SECRET);
}

describe.skipIf(!inject("engine"))("external S3 and registry through the CLI", () => {
  let dir: string;
  const env = (): NodeJS.ProcessEnv => ({ DIFY_LOCAL_CONFIG_DIR: join(dir, "config"), DLT_EXTWIRE_CLI_S3_SECRET: SECRET });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "dlt-extwire-cli-"));
    await writeFile(join(dir, "dify-local.yaml"), config(`{ prefix: "127.0.0.1:${REGISTRY_PORT}/dify-plugins", insecure: true }`));
    await Promise.all([startS3(SERVERS[0] ?? "", S3_PORT, ACCESS, SECRET), startRegistry(SERVERS[1] ?? "", REGISTRY_PORT)]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(SERVERS.map(removeContainer));
    await rm(dir, { recursive: true, force: true });
  });

  it("up, verify, values, storage ls and down --purge treat them as external", async () => {
    const upRun = await runCli(["up"], dir, env());
    expect(upRun.code, upRun.stderr).toBe(0);
    expect(upRun.stderr).toMatch(new RegExp(`minio external.*127\\.0\\.0\\.1:${S3_PORT} \\(no TLS\\) answered`));
    expect(upRun.stderr).toMatch(new RegExp(`registry external.*127\\.0\\.0\\.1:${REGISTRY_PORT} \\(no TLS \\(insecure\\)\\) answered`));
    expect(await exists("container", "dlt-extwire-cli-minio")).toBe(false);
    expect(await exists("container", "dlt-extwire-cli-registry")).toBe(false);
    expect(await admin().bucketExists(BUCKET)).toBe(true);

    const verifyRun = await runCli(["verify", "--json"], dir, env());
    expect(verifyRun.code, verifyRun.stdout + verifyRun.stderr).toBe(0);
    const checks = (JSON.parse(verifyRun.stdout) as { checks: Array<{ id: string; ok: boolean }> }).checks;
    expect(
      checks.filter((c) => c.id.startsWith("minio.external.") || c.id.startsWith("registry.external.")).map((c) => [c.id, c.ok]),
    ).toEqual([
      ["registry.external.v2", true],
      ["minio.external.auth", true],
      ["minio.external.bucket", true],
      ["minio.external.write", true],
    ]);

    for (const chart of ["3.7", "3.9"]) {
      const valuesRun = await runCli(["values", "--chart", chart], dir, env());
      expect(valuesRun.code, valuesRun.stderr).toBe(0);
      const rendered = parse(valuesRun.stdout) as Record<string, Record<string, unknown>>;
      expect(rendered.persistence?.s3).toMatchObject({
        endpoint: `http://127.0.0.1:${S3_PORT}`,
        accessKey: ACCESS,
        secretKey: SECRET,
        bucketName: BUCKET,
        useAwsS3: false,
      });
      expect(rendered.plugin_connector).toMatchObject({
        imageRepoPrefix: `127.0.0.1:${REGISTRY_PORT}/dify-plugins`,
        insecureImageRepo: true,
      });
    }

    await admin().putObject(BUCKET, "privkeys/tenant-cli/private.pem", Buffer.from("kept"));
    const lsRun = await runCli(["storage", "ls"], dir, env());
    expect(lsRun.code, lsRun.stderr).toBe(0);
    expect(lsRun.stdout).toContain("privkeys/tenant-cli/private.pem");

    const downRun = await runCli(["down", "--purge", "--yes"], dir, env());
    expect(downRun.code, downRun.stderr).toBe(0);
    expect(downRun.stdout).toContain(`left minio 127.0.0.1:${S3_PORT} alone: external, dify-local never changes it`);
    expect(downRun.stdout).toContain(`left registry 127.0.0.1:${REGISTRY_PORT} alone`);
    expect(await admin().bucketExists(BUCKET)).toBe(true);
    await expect(admin().statObject(BUCKET, "privkeys/tenant-cli/private.pem")).resolves.toMatchObject({ size: 4 });

    for (const run of [upRun, verifyRun, lsRun, downRun]) expect(run.stdout + run.stderr).not.toContain(SECRET);
  });

  it("registry ls against ECR exits 2 with the aws ecr command", async () => {
    await writeFile(
      join(dir, "dify-local.yaml"),
      config('{ prefix: "123456789012.dkr.ecr.us-east-1.amazonaws.com/dify-plugins", type: ecr, customServiceAccount: builder }'),
    );
    const run = await runCli(["registry", "ls"], dir, env());
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("registry.external.type");
    expect(run.stderr).toContain("aws ecr describe-images");
  });
});
