/**
 * `values` on a real engine: the rendered values carry the credentials the containers really have
 * (MinIO's read from the container's environment), follow a changed config once `up` has
 * recreated the container, and `--merge` updates a user's values.yaml in place. Real PostgreSQL,
 * Redis and registry; MinIO and Qdrant are the fixtures' stand-ins.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parse } from "yaml";
import { up } from "../../src/index.js";
import { values } from "../../src/commands/values.js";
import { ConflictError, UserError } from "../../src/errors.js";
import { cleanup, docker, testConfig } from "../support/stack.js";

const BASE = 21600;
const config = testConfig("values", BASE);
const rotated = testConfig("values", BASE, { minio: { rootUser: "dlt-values-user", rootPassword: "dlt-values-secret-2" } });

/** MINIO_ROOT_USER / MINIO_ROOT_PASSWORD as `docker exec dev-minio env` shows them. */
async function containerMinioEnv(): Promise<{ user: string | undefined; password: string | undefined }> {
  const info = await docker.getContainer("dlt-values-minio").inspect();
  const env = new Map((info.Config.Env ?? []).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
  return { user: env.get("MINIO_ROOT_USER"), password: env.get("MINIO_ROOT_PASSWORD") };
}

interface Rendered {
  global: { appSecretKey: string };
  persistence: { s3: { accessKey: string; secretKey: string; endpoint: string } };
  externalDatabase: { port: number; password: string };
  externalRedis: { port: number; password: string };
  vectorDB: { externalQdrant: { endpoint: string; apiKey: string } };
  plugin_connector: { imageRepoPrefix: string };
}

describe.skipIf(!inject("engine"))("values from a live stack", () => {
  let dir: string;
  const savedConfigDir = process.env.DIFY_LOCAL_CONFIG_DIR;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "dlt-values-"));
    // The generated chart secrets go to a temp dir, never to the user's ~/.config.
    process.env.DIFY_LOCAL_CONFIG_DIR = join(dir, "config");
    await cleanup(config);
  });
  afterAll(async () => {
    await cleanup(config);
    await rm(dir, { recursive: true, force: true });
    if (savedConfigDir === undefined) delete process.env.DIFY_LOCAL_CONFIG_DIR;
    else process.env.DIFY_LOCAL_CONFIG_DIR = savedConfigDir;
  });

  it("renders the container's real MinIO credentials, the configured ports and stable secrets", async () => {
    expect((await up({ config })).ok).toBe(true);
    const result = await values({ config });
    expect(result.chart).toBe("3.9");
    expect(result.sources).toEqual({ postgres: "container", redis: "container", minio: "container", qdrant: "container" });
    expect(result.warnings).toEqual([]);
    expect(result.secrets?.file).toBe(join(dir, "config", "secrets.json"));
    expect((await stat(join(dir, "config", "secrets.json"))).mode & 0o777).toBe(0o600);

    const v = parse(result.text ?? "") as Rendered;
    const live = await containerMinioEnv();
    expect(live).toEqual({ user: "minioadmin", password: "minioadmin123" });
    expect(v.persistence.s3.accessKey).toBe(live.user);
    expect(v.persistence.s3.secretKey).toBe(live.password);
    expect(v.persistence.s3.endpoint).toBe(`http://host.docker.internal:${BASE + 3}`);
    expect(v.externalDatabase).toMatchObject({ port: BASE + 1, password: "devpassword" });
    expect(v.externalRedis).toMatchObject({ port: BASE + 2, password: "devpassword" });
    expect(v.vectorDB.externalQdrant).toEqual({ endpoint: `http://host.docker.internal:${BASE + 5}`, apiKey: "devpassword" });
    expect(v.plugin_connector.imageRepoPrefix).toBe(`host.docker.internal:${BASE}`);

    // Generated once: a second render is identical.
    expect((await values({ config })).text).toBe(result.text);
  });

  it("after the MinIO credentials change in the config and `up` recreates dev-minio, the new ones appear", async () => {
    const before = parse((await values({ config })).text ?? "") as Rendered;
    const result = await up({ config: rotated });
    expect(result.ok).toBe(true);
    expect(result.plan.items.find((i) => i.action === "recreate")?.container).toBe("dlt-values-minio");

    const live = await containerMinioEnv();
    expect(live).toEqual({ user: "dlt-values-user", password: "dlt-values-secret-2" });
    const after = parse((await values({ config: rotated })).text ?? "") as Rendered;
    expect(after.persistence.s3.accessKey).toBe(live.user);
    expect(after.persistence.s3.secretKey).toBe(live.password);
    expect(after.global.appSecretKey).toBe(before.global.appSecretKey);

    // The container is the truth: a stale config still renders what MinIO really has.
    const stale = parse((await values({ config })).text ?? "") as Rendered;
    expect(stale.persistence.s3).toMatchObject({ accessKey: "dlt-values-user", secretKey: "dlt-values-secret-2" });
  });

  it("--merge updates a values.yaml in place: the live keys change, an unrelated key and a comment stay byte for byte", async () => {
    const file = join(dir, "values.yaml");
    const original = [
      "# my values -- do not lose this comment",
      "myTeam:",
      '  owner: "someone"   # aligned comment',
      "  labels: [ a,  b ]",
      "persistence:",
      '  type: "local"',
      "  s3:",
      '    accessKey: "#REPLACE_ME#"',
      '    secretKey: "#REPLACE_ME#"',
      "externalPostgres:",
      "  enabled: false",
      "",
    ].join("\n");
    await writeFile(file, original, { mode: 0o644 });

    const result = await values({ config: rotated, merge: file });
    // The file is a 3.7 file (externalPostgres): the chart line follows it.
    expect(result).toMatchObject({ chart: "3.7", chartFrom: "file" });
    expect(result.text).toBeUndefined();
    expect(result.merged?.layout).toBe("kept");
    expect(result.merged?.changed).toEqual(
      expect.arrayContaining(["persistence.s3.accessKey", "persistence.s3.secretKey", "externalPostgres.enabled"]),
    );
    expect(result.merged?.backup).toBe(`${file}.bak`);
    expect(await readFile(`${file}.bak`, "utf8")).toBe(original);

    const text = await readFile(file, "utf8");
    expect(
      text.startsWith('# my values -- do not lose this comment\nmyTeam:\n  owner: "someone"   # aligned comment\n  labels: [ a,  b ]\n'),
    ).toBe(true);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const merged = parse(text) as Rendered & { myTeam: unknown; externalPostgres: { enabled: boolean } };
    const live = await containerMinioEnv();
    expect(merged.persistence.s3).toMatchObject({ accessKey: live.user, secretKey: live.password });
    expect(merged.externalPostgres.enabled).toBe(true);
    expect(merged.myTeam).toEqual({ owner: "someone", labels: ["a", "b"] });

    // Round trip: merging again changes nothing and writes nothing.
    const again = await values({ config: rotated, merge: file });
    expect(again.merged).toMatchObject({ changed: [], backup: undefined });
    expect(await readFile(file, "utf8")).toBe(text);
  });

  it("-o writes a 0600 file and returns no text; bad flags are refused before anything runs", async () => {
    const out = join(dir, "rendered.yaml");
    const result = await values({ config: rotated, output: out, format: "yaml" });
    expect(result.text).toBeUndefined();
    expect(result.written).toBe(out);
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    // A file dify-local rendered may be replaced; the user's own values.yaml may not.
    await values({ config: rotated, output: out });
    await expect(values({ config: rotated, output: join(dir, "values.yaml") })).rejects.toBeInstanceOf(ConflictError);

    const env = await values({ config: rotated, format: "env" });
    expect(env.text).toContain("S3_ACCESS_KEY=dlt-values-user\n");
    expect(env.text).toContain(`DB_PORT=${BASE + 1}\n`);

    await expect(values({ config: rotated, chart: "4.0" })).rejects.toMatchObject({ key: "--chart" });
    await expect(values({ config: rotated, format: "json" })).rejects.toMatchObject({ key: "--format" });
    await expect(values({ config: rotated, format: "env", merge: out })).rejects.toMatchObject({ key: "--merge" });
    await expect(values({ config: rotated, output: out, merge: out })).rejects.toBeInstanceOf(UserError);
  });
});
