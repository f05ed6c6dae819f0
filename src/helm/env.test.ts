import { describe, expect, it } from "vitest";
import { parseConfig } from "../config/index.js";
import { envValue, ENV_MARKER, renderEnv } from "./env.js";
import { factsFrom } from "./facts.js";

/** KEY=value lines as a map (comments and blank lines dropped). */
function entries(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split("\n")
      .filter((l) => l && !l.startsWith("#"))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
}

describe("renderEnv", () => {
  it("gives the community .env names for the live facts", () => {
    const base = factsFrom(parseConfig({ postgres: { port: 55433 }, minio: { port: 9100 } }), new Map());
    const facts = { ...base, minio: { ...base.minio, accessKey: "live-user", secretKey: "live-secret" }, redis: { ...base.redis, password: "p@ss/word" } };
    const text = renderEnv(facts);
    expect(text.startsWith(ENV_MARKER)).toBe(true);
    expect(entries(text)).toEqual({
      DB_TYPE: "postgresql",
      DB_USERNAME: "postgres",
      DB_PASSWORD: "devpassword",
      DB_HOST: "host.docker.internal",
      DB_PORT: "55433",
      DB_DATABASE: "dify",
      DB_PLUGIN_DATABASE: "plugin_daemon",
      REDIS_HOST: "host.docker.internal",
      REDIS_PORT: "6379",
      REDIS_USERNAME: "",
      REDIS_PASSWORD: "p@ss/word",
      REDIS_USE_SSL: "false",
      REDIS_DB: "0",
      CELERY_BROKER_URL: "redis://:p%40ss%2Fword@host.docker.internal:6379/1",
      STORAGE_TYPE: "s3",
      S3_ENDPOINT: "http://host.docker.internal:9100",
      S3_REGION: "us-east-1",
      S3_BUCKET_NAME: "dify",
      S3_ACCESS_KEY: "live-user",
      S3_SECRET_KEY: "live-secret",
      S3_USE_AWS_MANAGED_IAM: "false",
      S3_ADDRESS_STYLE: "path",
      VECTOR_STORE: "qdrant",
      QDRANT_URL: "http://host.docker.internal:6333",
      QDRANT_API_KEY: "devpassword",
      PLUGIN_STORAGE_TYPE: "aws_s3",
      PLUGIN_STORAGE_OSS_BUCKET: "dify",
      PLUGIN_S3_USE_AWS: "false",
      PLUGIN_S3_USE_AWS_MANAGED_IAM: "false",
      PLUGIN_S3_ENDPOINT: "http://host.docker.internal:9100",
      PLUGIN_S3_USE_PATH_STYLE: "true",
      PLUGIN_AWS_ACCESS_KEY: "live-user",
      PLUGIN_AWS_SECRET_KEY: "live-secret",
      PLUGIN_AWS_REGION: "us-east-1",
    });
  });
});

describe("envValue", () => {
  it("leaves safe values bare", () => {
    expect(envValue("devpassword")).toBe("devpassword");
    expect(envValue("http://host.docker.internal:9000")).toBe("http://host.docker.internal:9000");
    expect(envValue("a+b/c==")).toBe("a+b/c==");
    expect(envValue("")).toBe("");
  });
  it("single-quotes spaces, # and $ so nothing is cut or interpolated", () => {
    expect(envValue("two words")).toBe("'two words'");
    expect(envValue("pa#ss")).toBe("'pa#ss'");
    expect(envValue("pa$HOME")).toBe("'pa$HOME'");
    expect(envValue('say "hi"')).toBe("'say \"hi\"'");
  });
  it("double-quotes with escapes when the value holds a single quote or a backslash", () => {
    expect(envValue("it's")).toBe('"it\'s"');
    expect(envValue('a\\b"c')).toBe('"a\\\\b\\"c"');
  });
});
