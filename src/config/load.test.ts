import { describe, expect, it } from "vitest";
import { UserError } from "../errors.js";
import { parseConfig, parseConfigText } from "./load.js";

function errorOf(fn: () => unknown): UserError {
  try {
    fn();
  } catch (err) {
    if (err instanceof UserError) return err;
    throw err;
  }
  throw new Error("expected a UserError");
}

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
    const err = errorOf(() => parseConfigText(yaml, "dify-local.yaml"));
    expect(err.exitCode).toBe(2);
    expect(err.key).toBe(key);
    expect(err.message).toContain(`dify-local.yaml:${line}: ${key}:`);
  });

  it("reports YAML syntax errors with line and column", () => {
    const err = errorOf(() => parseConfigText("postgres:\n  port: [1, 2\n", "f.yaml"));
    expect(err.message).toMatch(/^f\.yaml:\d+:\d+: invalid YAML/);
    expect(err.exitCode).toBe(2);
  });

  it("refuses a document that is not a mapping", () => {
    expect(errorOf(() => parseConfigText("- a\n- b\n")).exitCode).toBe(2);
  });
});
