/**
 * Every doctor rule provoked for real on the engine: a stopped container, a held port, a
 * PostgreSQL volume initialised with another password, a dropped database, a removed bucket
 * policy, a file written straight into MinIO's data directory. Real PostgreSQL, Redis and
 * registry; the MinIO stand-in keeps its bucket policy in /data/.minio.sys as MinIO does.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import pg from "pg";
import { pack } from "tar-stream";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { doctor } from "../../src/commands/doctor.js";
import { down, OperationError, up, values } from "../../src/index.js";
import { seedS3 } from "../support/clients.js";
import { cleanup, docker, testConfig } from "../support/stack.js";

const BASE = 21800;
const config = testConfig("doctor", BASE);
const names = { redis: "dlt-doctor-redis", minio: "dlt-doctor-minio", postgres: "dlt-doctor-postgres" };

const find = async (cfg = config) => (await doctor({ config: cfg })).findings;

describe.skipIf(!inject("engine"))("doctor", () => {
  beforeAll(async () => {
    await cleanup(config);
    expect((await up({ config })).ok).toBe(true);
  });
  afterAll(() => cleanup(config));

  it("a healthy stack has no errors; prerequisites are reported", async () => {
    const result = await doctor({ config });
    expect(result.findings.filter((f) => f.severity === "error")).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.findings.find((f) => f.id === "prereq.engine")?.what).toMatch(/^Docker engine \S+ at /);
    expect(result.findings.map((f) => f.id)).toEqual(
      expect.arrayContaining([
        "prereq.kind",
        "prereq.helm",
        "prereq.kubectl",
        "ports",
        "postgres.auth",
        "postgres.databases",
        "minio.bucket",
        "minio.anonymous",
      ]),
    );
  });

  it("a stopped container: error with its state and the fix", async () => {
    await docker.getContainer(names.redis).stop({ t: 5 });
    const f = (await find()).find((x) => x.id === "containers.redis");
    expect(f).toMatchObject({
      severity: "error",
      what: expect.stringContaining(`container ${names.redis} is exited`) as unknown,
      fix: expect.stringContaining("dify-local up") as unknown,
    });
    await docker.getContainer(names.redis).start();
  });

  it("a port held by another process: the key and the holder", async () => {
    const holder: Server = createServer();
    await new Promise<void>((r) => holder.listen(BASE + 20, "127.0.0.1", r));
    try {
      const f = (await find(testConfig("doctor", BASE, { qdrant: { grpcPort: BASE + 20 } }))).find((x) => x.id === "ports.qdrant.grpcPort");
      expect(f?.severity).toBe("error");
      expect(f?.what).toContain(`127.0.0.1:${BASE + 20} (qdrant.grpcPort) is held by`);
      expect(f?.what).toContain(`pid ${process.pid}`);
    } finally {
      holder.close();
    }
  });

  it("a PostgreSQL volume initialised with another password: up fails fast, doctor explains both fixes", async () => {
    const other = testConfig("doctor", BASE, { postgres: { password: "another-password" } });
    // A new container on the old volume (with its container in place, up would change the password
    // in place with ALTER USER, through the password that container was started with).
    await down({ config });
    const err = await up({ config: other }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OperationError);
    // The explanation, not "did not answer within 90s": the readiness loop stopped at the refusal.
    expect((err as Error).message).toContain("POSTGRES_PASSWORD is applied only to an empty data directory");
    expect((err as Error).message).not.toContain("did not answer within");
    const f = (await find(other)).find((x) => x.id === "postgres.auth");
    expect(f?.severity).toBe("error");
    expect(f?.why).toContain(`the volume dlt-doctor-postgres-data was initialised with another password`);
    expect(f?.fix).toContain("set postgres.password in dify-local.yaml");
    expect(f?.fix).toContain(`docker exec -u postgres ${names.postgres} psql`);
    // Back to the password the volume knows: up recreates the container and all is well.
    expect((await up({ config })).ok).toBe(true);
  });

  it("a dropped database is named", async () => {
    const client = new pg.Client({ host: "127.0.0.1", port: BASE + 1, user: "postgres", password: "devpassword", database: "postgres" });
    await client.connect();
    await client.query("DROP DATABASE audit");
    await client.end();
    const f = (await find()).find((x) => x.id === "postgres.databases");
    expect(f).toMatchObject({ severity: "error", what: "databases missing: audit", fix: "dify-local up" });
  });

  it("a removed bucket policy, and a file copied into the data directory", async () => {
    const s3 = seedS3(BASE + 3);
    await s3.putObject("dify", "assets/icon.png", Buffer.from("through S3"));
    await s3.putObject("dify", "privkeys/t1/private.pem", Buffer.from("through S3"));
    await s3.setBucketPolicy("dify", "");
    // What the seed warns against: a file put straight into /data/dify (docker cp), also one whose
    // name begins with an existing key (a backup beside the object).
    const tar = pack();
    tar.entry({ name: "copied-directly.difypkg" }, "raw bytes");
    tar.entry({ name: "privkeys/t1/private.pem.bak" }, "raw bytes");
    tar.finalize();
    await docker.getContainer(names.minio).putArchive(tar as unknown as NodeJS.ReadableStream, { path: "/data/dify" });

    const found = await find();
    expect(found.find((x) => x.id === "minio.anonymous")).toMatchObject({
      severity: "error",
      what: `anonymous access to dify is none, the config wants public`,
    });
    const stray = found.find((x) => x.id === "minio.direct-files");
    expect(stray?.what).toContain("/data/dify/copied-directly.difypkg");
    expect(stray?.what).toContain("/data/dify/privkeys/t1/private.pem.bak");
    expect(stray?.what).not.toContain("icon.png");
    expect(stray?.what).not.toContain("xl.meta");
    expect(stray?.fix).toContain("dify-local storage cp LOCAL_FILE copied-directly.difypkg");
  });

  it("values.yaml against the live stack: each listed mistake is found with its fix", async () => {
    const dir = await mkdtemp(join(tmpdir(), "dlt-doctor-values-"));
    const saved = process.env.DIFY_LOCAL_CONFIG_DIR;
    process.env.DIFY_LOCAL_CONFIG_DIR = dir;
    try {
      const file = join(dir, "values.yaml");
      await values({ config, chart: "3.7", output: file });
      expect((await doctor({ config, valuesFile: file })).findings.filter((f) => f.id.startsWith("values"))).toEqual([
        { id: "values", severity: "ok", what: `${file} matches the live stack` },
      ]);
      const rendered = parse(await readFile(file, "utf8")) as Record<string, Record<string, unknown>>;
      const mistakes: Array<[string, (v: Record<string, Record<string, unknown>>) => void, string, string]> = [
        [
          "S3 secret",
          (v) => ((v.persistence!.s3 as Record<string, unknown>).secretKey = "minioadmin"),
          "values.s3-credentials",
          "flask reset-encrypt-key-pair",
        ],
        ["localhost", (v) => (v.externalRedis!.host = "localhost"), "values.externalRedis.host", "host.docker.internal"],
        ["port", (v) => (v.externalPostgres!.port = 5432), "values.externalPostgres.port", "dify-local values --merge"],
        [
          "sslmode",
          (v) => ((v.externalPostgres!.credentials as Record<string, Record<string, unknown>>).dify!.sslmode = "require"),
          "values.externalPostgres.credentials.dify.sslmode",
          "disable",
        ],
        ["minio", (v) => (v.minio!.enabled = true), "values.minio.enabled", "minio.enabled: false"],
        [
          "pluginBuilder",
          (v) => (v.pluginBuilder = { imageRepoPrefix: "host.docker.internal:5050" }),
          "values.pluginBuilder",
          "plugin_connector",
        ],
        ["ecr", (v) => (v.plugin_connector!.imageRepoType = "ecr"), "values.plugin_connector.imageRepoType", "imageRepoType: docker"],
        [
          "insecure",
          (v) => (v.plugin_connector!.insecureImageRepo = false),
          "values.plugin_connector.insecureImageRepo",
          "insecureImageRepo: true",
        ],
      ];
      for (const [label, mutate, id, fix] of mistakes) {
        const v = structuredClone(rendered);
        mutate(v);
        const bad = join(dir, `bad-${label}.yaml`);
        await writeFile(bad, stringify(v));
        const result = await doctor({ config, valuesFile: bad });
        const hit = result.findings.find((f) => f.id === id);
        expect(hit?.severity, label).toBe("error");
        expect(hit?.fix, label).toContain(fix);
        expect(result.ok, label).toBe(false);
      }
    } finally {
      if (saved === undefined) delete process.env.DIFY_LOCAL_CONFIG_DIR;
      else process.env.DIFY_LOCAL_CONFIG_DIR = saved;
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("a missing bucket", async () => {
    const s3 = seedS3(BASE + 3);
    const objects: string[] = [];
    for await (const o of s3.listObjectsV2("dify", "", true) as AsyncIterable<{ name?: string }>) if (o.name) objects.push(o.name);
    await s3.removeObjects("dify", objects);
    await docker
      .getContainer(names.minio)
      .exec({ Cmd: ["rm", "-f", "/data/dify/copied-directly.difypkg"] })
      .then((e) => e.start({}));
    await new Promise((r) => setTimeout(r, 300));
    await s3.removeBucket("dify");
    expect((await find()).find((x) => x.id === "minio.bucket")).toMatchObject({ severity: "error", fix: "dify-local up" });
    // up repairs what the doctor found.
    expect((await up({ config })).ok).toBe(true);
    expect((await doctor({ config })).ok).toBe(true);
  });
});
