import { execFileSync } from "node:child_process";
import { mkdtemp, rm, symlink, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserError } from "../errors.js";
import { loadConfig, parseConfig, parseConfigText } from "./load.js";
import { MAX_CONFIG_BYTES } from "./read.js";
import { userErrorOf } from "../../test/support/errors.js";

describe("config defaults", () => {
  it("reproduces the seed's table exactly with no file", () => {
    const c = parseConfig({});
    expect(c.bind).toBe("127.0.0.1");
    expect(c.registry).toMatchObject({ container: "local-registry", image: "registry:2", port: 5050, restart: "always" });
    expect(c.postgres).toMatchObject({
      container: "dev-postgres",
      port: 55432,
      user: "postgres",
      password: "devpassword",
      databases: ["dify", "plugin_daemon", "enterprise", "audit"],
    });
    expect(c.redis).toMatchObject({ container: "dev-redis", image: "redis:7", port: 6379, password: "devpassword", appendonly: true });
    expect(c.minio).toMatchObject({
      container: "dev-minio",
      image: "minio/minio",
      port: 9000,
      consolePort: 9001,
      rootUser: "minioadmin",
      rootPassword: "minioadmin123",
      bucket: "dify",
      anonymous: "public",
    });
    expect(c.qdrant).toMatchObject({ container: "dev-qdrant", image: "qdrant/qdrant", port: 6333, grpcPort: 6334, apiKey: "devpassword" });
    expect(c.cluster).toMatchObject({ name: "dify-ee-kind", workers: 1, enabled: true });
  });

  it("overrides one key and keeps the others", () => {
    const c = parseConfigText("postgres:\n  port: 55433\n");
    expect(c.postgres.port).toBe(55433);
    expect(c.postgres.password).toBe("devpassword");
  });

  it("treats an empty file as all defaults", () => {
    expect(parseConfigText("").postgres.port).toBe(55432);
  });
});

describe("bad config names the key path and line", () => {
  const cases: Array<[string, string, string, number]> = [
    ["unknown top-level key", "bnd: 0.0.0.0\n", "bnd", 1],
    ["unknown nested key", "postgres:\n  prot: 1\n", "postgres.prot", 2],
    ["port as string", 'redis:\n  port: "6379x"\n', "redis.port", 2],
    ["port out of range", "minio:\n  port: 70000\n", "minio.port", 2],
    ["fractional port", "qdrant:\n  port: 6333.5\n", "qdrant.port", 2],
    ["bad bind address", "bind: localhost\n", "bind", 1],
    ["bad enum", "minio:\n  anonymous: everyone\n", "minio.anonymous", 2],
    ["bad container name", 'postgres:\n  container: "-bad name"\n', "postgres.container", 2],
    ["bad database identifier", 'postgres:\n  databases: [dify, "bad-db"]\n', "postgres.databases[1]", 2],
    ["duplicate port", "redis:\n  port: 5050\n", "redis.port", 2],
    ["bad bucket name", "minio:\n  bucket: A\n", "minio.bucket", 2],
    ["empty password", 'redis:\n  password: ""\n', "redis.password", 2],
    ["section not a map", "postgres: 5\n", "postgres", 1],
    ["duplicate container name", "redis:\n  container: dev-postgres\n", "redis.container", 2],
    ["short MinIO password", "minio:\n  rootPassword: short\n", "minio.rootPassword", 2],
  ];
  it.each(cases)("%s", (_label, yaml, key, line) => {
    const err = userErrorOf(() => parseConfigText(yaml, "dify-local.yaml"));
    expect(err.exitCode).toBe(2);
    expect(err.key).toBe(key);
    expect(err.message).toContain(`dify-local.yaml:${line}: ${key}:`);
  });

  it("reports YAML syntax errors with line and column", () => {
    const err = userErrorOf(() => parseConfigText("postgres:\n  port: [1, 2\n", "f.yaml"));
    expect(err.message).toMatch(/^f\.yaml:\d+:\d+: invalid YAML/);
    expect(err.exitCode).toBe(2);
  });

  it("refuses a document that is not a mapping", () => {
    expect(userErrorOf(() => parseConfigText("- a\n- b\n")).exitCode).toBe(2);
  });
});

describe("YAML that is not one plain document", () => {
  const bomb = [
    "a: &a [x, x, x, x, x, x, x, x, x]",
    "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]",
    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]",
    "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]",
    "e: [*d, *d, *d, *d, *d, *d, *d, *d, *d]",
    "",
  ].join("\n");
  const cases: Array<[string, string, RegExp, string]> = [
    ["an alias bomb", bomb, /^f\.yaml:3:\d+: invalid YAML at c\[0\]: the aliases here expand to more than 100 nodes/, "c[0]"],
    ["an alias with no anchor", "bind: *nowhere\n", /^f\.yaml:1:7: invalid YAML at bind: an alias \(\*nowhere\) names no anchor/, "bind"],
    [
      "a duplicate key",
      "postgres:\n  port: 1\n  port: 2\n",
      /^f\.yaml:3:3: invalid YAML at postgres\.port: this key appears twice/,
      "postgres.port",
    ],
    ["a tab as indentation", "postgres:\n\tport: 1\n", /^f\.yaml:2:1: invalid YAML: a tab is used for indentation/, "--config"],
    [
      "two documents",
      "bind: 127.0.0.1\n---\nbind: 0.0.0.0\n",
      /^f\.yaml:2:1: invalid YAML: the file holds more than one YAML document/,
      "--config",
    ],
    ["an unknown tag", "bind: !ip 127.0.0.1\n", /^f\.yaml:1:7: invalid YAML at bind: Unresolved tag: !ip/, "bind"],
  ];
  it.each(cases)("%s", (_label, yaml, message, key) => {
    const err = userErrorOf(() => parseConfigText(yaml, "f.yaml"));
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(message);
    expect(err.key).toBe(key);
  });

  it("still takes a few aliases used as intended", () => {
    const c = parseConfigText("postgres:\n  password: &pw s3cret-pass\nredis:\n  password: *pw\n");
    expect(c.redis.password).toBe("s3cret-pass");
  });
});

describe("--config files that are not small regular UTF-8 files", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "dlt-load-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function loadError(file: string): Promise<UserError> {
    const err = await loadConfig({ file, cwd: dir }).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (err instanceof UserError) return err;
    throw new Error(`expected a UserError, got ${String(err)}`);
  }

  it("a FIFO is refused at once (an ordinary open would wait for a writer forever)", async () => {
    const fifo = join(dir, "fifo.yaml");
    execFileSync("mkfifo", [fifo]);
    const err = await loadError(fifo);
    expect(err.message).toBe(`${fifo} is a FIFO (named pipe), not a regular file; a config file is read from disk`);
    expect(err.key).toBe("--config");
  });

  it("/dev/zero, and a symlink to it, are refused without reading", async () => {
    expect((await loadError("/dev/zero")).message).toContain("/dev/zero is a character device");
    const link = join(dir, "zero.yaml");
    await symlink("/dev/zero", link);
    expect((await loadError(link)).message).toContain("is a character device");
  });

  it("a directory is refused", async () => {
    expect((await loadError(dir)).message).toBe(`${dir} is a directory, not a config file`);
  });

  it("a file over 1 MiB is refused by its size, before it is read", async () => {
    const big = join(dir, "big.yaml");
    await writeFile(big, `# ${"x".repeat(MAX_CONFIG_BYTES)}\n`);
    expect((await loadError(big)).message).toMatch(
      /big\.yaml is too large for a config file \(\d+ bytes; at most 1048576 bytes are read\)/,
    );
    const sparse = join(dir, "sparse.yaml");
    await writeFile(sparse, "");
    await truncate(sparse, 50 * 1024 * 1024 * 1024);
    expect((await loadError(sparse)).message).toContain("53687091200 bytes");
  });

  it("invalid UTF-8 is named by line, column and byte offset", async () => {
    const bad = join(dir, "latin1.yaml");
    await writeFile(bad, Buffer.concat([Buffer.from("bind: 127.0.0.1\nredis:\n  password: caf"), Buffer.from([0xe9]), Buffer.from("\n")]));
    const err = await loadError(bad);
    expect(err.message).toBe(`${bad}:3:16: not valid UTF-8 (byte offset 38); save the file as UTF-8`);
  });

  it("UTF-8 with a byte-order mark, and a real U+FFFD, are fine", async () => {
    const ok = join(dir, "bom.yaml");
    await writeFile(ok, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from("redis:\n  password: \ufffd-ok\n")]));
    expect((await loadConfig({ file: ok })).config.redis.password).toBe("\ufffd-ok");
  });

  it("an empty --config is refused rather than ignored", async () => {
    expect((await loadError("")).message).toBe("--config was given an empty file name");
  });
});
