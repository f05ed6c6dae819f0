import { lstat, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseConfig } from "../config/index.js";
import { UserError } from "../errors.js";
import { SERVICES } from "../services/index.js";
import { renderValues } from "../stack/index.js";
import { loadValuesFile, mergeValuesFile, mergeValuesText } from "./merge.js";
import { flattenValues, valueAt } from "./values.js";
import { TEST_CHART_SECRETS } from "../../test/support/chart-secrets.js";

const SECRETS = TEST_CHART_SECRETS;
const V37 = renderValues({ services: SERVICES, config: parseConfig({}), observed: new Map() }, { chart: "3.7", secrets: SECRETS });

/** A user's values.yaml in the chart's own style, with the layout yaml's serializer would not reproduce. */
const USER_FILE = `# My Dify EE values -- hand edited, keep this comment
global:
  appSecretKey: "#REPLACE_ME#"
  edition: "SELF_HOSTED"   # aligned   comment
  consoleApiDomain: ""

ingress:
  enabled: false
  className: ""
  annotations: {}
    # kubernetes.io/tls-acme: "true"
  tls: []

api:
  extraEnv:
  # Apply your own Environment Variables if necessary.
  #   - name: ENV_FROM_COMMUNITY1
  replicas: 3
myUnrelatedKey:
  nested: [ "a",   'b' ]
persistence:
  type: "local"
  s3:
    endpoint: "https://xxx.r2.cloudflarestorage.com"
    accessKey: '#REPLACE_ME#'
externalRedis:
  enabled: true
  host: "redis.example"
  port: 6379
  sentinel:
    nodes: "" # Comma-separated list of Redis Sentinel nodes (host:port)
`;

/** True when `lines` appear in `text` in this order (other lines may sit between them). */
function inOrder(text: string, lines: string[]): boolean {
  const all = text.split("\n");
  let at = 0;
  for (const line of lines) {
    const i = all.indexOf(line, at);
    if (i === -1) return false;
    at = i + 1;
  }
  return true;
}

describe("mergeValuesText", () => {
  it("sets every owned key and keeps every other line byte for byte", () => {
    const { text, changed, layout } = mergeValuesText(USER_FILE, V37);
    expect(layout).toBe("kept");
    // Each owned leaf now has the rendered value.
    const data = parse(text) as unknown;
    for (const { path, value } of flattenValues(V37)) expect(valueAt(data, path)).toEqual(value);
    // Unrelated keys and comments, exactly as written and in their order.
    const untouched = USER_FILE.split("\n").filter(
      (l) => !/appSecretKey|consoleApiDomain|enabled: false|className|type: "local"|endpoint:|accessKey:|host: "redis/.test(l),
    );
    expect(inOrder(text, untouched)).toBe(true);
    expect(text).toContain('  edition: "SELF_HOSTED"   # aligned   comment\n');
    expect(text).toContain('  annotations: {}\n    # kubernetes.io/tls-acme: "true"\n');
    expect(text).toContain("myUnrelatedKey:\n  nested: [ \"a\",   'b' ]\n");
    expect((parse(text) as { api: unknown }).api).toEqual({ extraEnv: null, replicas: 3, innerApi: { apiKey: "api-inner" } });
    // Values keep the file's quoting style.
    expect(text).toContain('  appSecretKey: "app-key"\n');
    expect(text).toContain("    accessKey: 'minioadmin'\n");
    expect(changed).toContain("persistence.s3.accessKey");
    expect(changed).toContain("externalPostgres.credentials.audit.password");
    expect(changed).not.toContain("externalRedis.port");
  });

  it("a second merge changes nothing", () => {
    const once = mergeValuesText(USER_FILE, V37).text;
    expect(mergeValuesText(once, V37)).toEqual({ text: once, changed: [], layout: "kept" });
  });

  it("fills an empty value, an empty flow map and an empty file", () => {
    const values = { externalRedis: { host: "h", port: 1 }, minio: { enabled: false } };
    const r1 = mergeValuesText("externalRedis: # mine\nminio: {}\nother: 1\n", values);
    expect(r1.layout).toBe("kept");
    expect(r1.text).toBe("externalRedis: # mine\n  host: h\n  port: 1\nminio:\n  enabled: false\nother: 1\n");
    const r2 = mergeValuesText("# only a comment\n", values);
    expect(parse(r2.text)).toEqual(values);
    expect(r2.text.startsWith("# only a comment\n")).toBe(true);
    expect(mergeValuesText("", values).text).toBe("externalRedis:\n  host: h\n  port: 1\nminio:\n  enabled: false\n");
  });

  it("follows the file's indentation and line endings", () => {
    const r = mergeValuesText("persistence:\r\n    type: local\r\n    s3:\r\n        region: x\r\n", {
      persistence: { type: "s3", s3: { region: "us-east-1", bucketName: "dify" } },
    });
    expect(r.text).toBe("persistence:\r\n    type: s3\r\n    s3:\r\n        region: us-east-1\r\n        bucketName: dify\r\n");
  });

  it("inserts into nested maps that end at the same place in the right order", () => {
    const r = mergeValuesText("a:\n  b:\n    c: 1\n", { a: { b: { d: 2 }, e: 3 }, f: 4 });
    expect(r.text).toBe("a:\n  b:\n    c: 1\n    d: 2\n  e: 3\nf: 4\n");
  });

  it("a one-line value where a map is needed gives way to the block", () => {
    const r = mergeValuesText("# top\npersistence: local # was local\nkeep: 1\n", { persistence: { type: "s3" } });
    expect(r).toEqual({ text: "# top\npersistence: # was local\n  type: s3\nkeep: 1\n", changed: ["persistence.type"], layout: "kept" });
  });

  it("rewrites through the Document API when a block list stands where a map is needed, keeping comments", () => {
    const r = mergeValuesText("# top\npersistence:\n  - local\nkeep: 1 # one\n", { persistence: { type: "s3" } });
    expect(r.layout).toBe("rewritten");
    expect(parse(r.text)).toEqual({ persistence: { type: "s3" }, keep: 1 });
    expect(r.text).toContain("# top");
    expect(r.text).toContain("# one");
  });

  it("refuses to edit through an alias", () => {
    expect(() => mergeValuesText("base: &b\n  x: 1\na: *b\n", { a: { y: 1 } }, "v.yaml")).toThrow(/alias/);
  });

  it("leaves a port written as a string alone", () => {
    expect(mergeValuesText('externalRedis:\n  port: "6379"\n', { externalRedis: { port: 6379 } }).changed).toEqual([]);
  });

  it("names file:line on a YAML error", () => {
    expect(() => mergeValuesText("a: 1\nb: [\n", { a: 1 }, "v.yaml")).toThrow(/^v\.yaml:\d+:\d+: invalid YAML/);
    expect(() => mergeValuesText("a: 1\na: 2\n", { a: 1 }, "v.yaml")).toThrow(UserError);
    expect(() => mergeValuesText("- a\n- b\n", { a: 1 }, "v.yaml")).toThrow(/must be a mapping/);
  });
});

describe("mergeValuesFile", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "dlt-merge-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const mode = async (p: string) => (await stat(p)).mode & 0o777;

  it("writes a backup of the file as it was, then the merged file with mode 0600", async () => {
    const file = join(dir, "values.yaml");
    await writeFile(file, USER_FILE, { mode: 0o644 });
    const result = await mergeValuesFile(file, V37);
    expect(result.backup).toBe(`${file}.bak`);
    expect(await readFile(`${file}.bak`, "utf8")).toBe(USER_FILE);
    expect(await mode(`${file}.bak`)).toBe(0o600);
    expect(await mode(file)).toBe(0o600);
    const text = await readFile(file, "utf8");
    expect(text).toContain("# My Dify EE values -- hand edited, keep this comment\n");
    expect(text).toContain("myUnrelatedKey:\n  nested: [ \"a\",   'b' ]\n");
    expect(result.changed).toContain("persistence.s3.secretKey");

    // Nothing to change: nothing written, no new backup.
    await writeFile(`${file}.bak`, "older");
    expect(await mergeValuesFile(file, V37)).toEqual({ file, backup: undefined, changed: [], layout: "kept" });
    expect(await readFile(`${file}.bak`, "utf8")).toBe("older");
  });

  it("never overwrites an earlier backup: later merges write FILE.bak.1, FILE.bak.2, each 0600", async () => {
    const file = join(dir, "values.yaml");
    const before = "# before dify-local ever touched it\nmine: 1\n";
    await writeFile(file, before);
    expect((await mergeValuesFile(file, { minio: { enabled: false } })).backup).toBe(`${file}.bak`);
    const afterFirst = await readFile(file, "utf8");
    expect((await mergeValuesFile(file, { minio: { enabled: true } })).backup).toBe(`${file}.bak.1`);
    const afterSecond = await readFile(file, "utf8");
    expect((await mergeValuesFile(file, { minio: { enabled: false } })).backup).toBe(`${file}.bak.2`);
    expect(await readFile(`${file}.bak`, "utf8")).toBe(before);
    expect(await readFile(`${file}.bak.1`, "utf8")).toBe(afterFirst);
    expect(await readFile(`${file}.bak.2`, "utf8")).toBe(afterSecond);
    for (const b of ["", ".1", ".2"]) expect(await mode(`${file}.bak${b}`)).toBe(0o600);
    expect((await readdir(dir)).sort()).toEqual(["values.yaml", "values.yaml.bak", "values.yaml.bak.1", "values.yaml.bak.2"]);
  });

  it("never writes a backup through a link planted at FILE.bak", async () => {
    const file = join(dir, "values.yaml");
    await writeFile(file, "mine: 1\n");
    const elsewhere = join(dir, "elsewhere");
    await writeFile(elsewhere, "not yours\n");
    await symlink(elsewhere, `${file}.bak`);
    expect((await mergeValuesFile(file, { minio: { enabled: false } })).backup).toBe(`${file}.bak.1`);
    expect(await readFile(elsewhere, "utf8")).toBe("not yours\n");
    expect(await readFile(`${file}.bak.1`, "utf8")).toBe("mine: 1\n");
  });

  it("leaves a file with a YAML error untouched and names its line", async () => {
    const file = join(dir, "values.yaml");
    const broken = "global:\n  appSecretKey: x\n bad: [\n";
    await writeFile(file, broken);
    await expect(mergeValuesFile(file, V37)).rejects.toThrow(
      new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:\\d+:\\d+: invalid YAML`),
    );
    expect(await readFile(file, "utf8")).toBe(broken);
    await expect(stat(`${file}.bak`)).rejects.toThrow();
  });

  it("a missing file is a UserError pointing at -o", async () => {
    const err = await mergeValuesFile(join(dir, "nope.yaml"), V37).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).key).toBe("--merge");
    expect((err as UserError).hint).toContain("-o");
  });

  it("updates the file behind a symlink and keeps the link", async () => {
    const real = join(dir, "real.yaml");
    const link = join(dir, "values.yaml");
    await writeFile(real, "keep: 1\n");
    await symlink(real, link);
    await mergeValuesFile(link, { minio: { enabled: false } });
    expect(await readFile(real, "utf8")).toBe("keep: 1\nminio:\n  enabled: false\n");
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
  });

  it("loadValuesFile returns the data", async () => {
    const file = join(dir, "v.yaml");
    await writeFile(file, "externalPostgres:\n  enabled: false\n");
    expect((await loadValuesFile(file)).data).toEqual({ externalPostgres: { enabled: false } });
  });
});
