import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseConfig } from "../config/index.js";
import { factsFrom, type LiveFacts } from "./facts.js";
import type { HelmSecrets } from "./secrets.js";
import { detectChart, flattenValues, formatKeyPath, parseChart, renderValues, valueAt, valuesKeyPaths, valuesYaml, VALUES_MARKER } from "./values.js";

const SECRETS: HelmSecrets = { appSecretKey: "app-key", enterpriseAppSecretKey: "ent-key", adminAPIsSecretKeySalt: "salt", passwordEncryptionKey: "aes-key" };

/** Facts as a live stack on other ports and with other credentials than the seed's would give. */
function liveFacts(): LiveFacts {
  const facts = factsFrom(parseConfig({ registry: { port: 5051 }, postgres: { port: 55433 }, redis: { port: 6380 }, minio: { port: 9100 }, qdrant: { port: 6340 } }), new Map());
  return {
    ...facts,
    postgres: { ...facts.postgres, user: "pguser", password: "pg-pass" },
    redis: { ...facts.redis, password: "redis-pass" },
    minio: { ...facts.minio, accessKey: "live-user", secretKey: "live-secret" },
    qdrant: { ...facts.qdrant, apiKey: "qdrant-key" },
  };
}

/** Every leaf as `dotted.path -> value`. */
function leaves(values: unknown): Record<string, unknown> {
  return Object.fromEntries(flattenValues(values).map((e) => [formatKeyPath(e.path), e.value]));
}

const COMMON = {
  "global.appSecretKey": "app-key",
  "global.consoleApiDomain": "console.dify.local",
  "global.consoleWebDomain": "console.dify.local",
  "global.serviceApiDomain": "api.dify.local",
  "global.appApiDomain": "app.dify.local",
  "global.appWebDomain": "app.dify.local",
  "global.filesDomain": "files.dify.local",
  "global.enterpriseDomain": "enterprise.dify.local",
  "global.triggerDomain": "trigger.dify.local",
  "ingress.enabled": true,
  "ingress.className": "nginx",
  "enterprise.appSecretKey": "ent-key",
  "enterprise.adminAPIsSecretKeySalt": "salt",
  "enterprise.passwordEncryptionKey": "aes-key",
  "plugin_connector.imageRepoType": "docker",
  "plugin_connector.imageRepoPrefix": "host.docker.internal:5051",
  "plugin_connector.insecureImageRepo": true,
  "minio.enabled": false,
  "persistence.type": "s3",
  "persistence.s3.endpoint": "http://host.docker.internal:9100",
  "persistence.s3.accessKey": "live-user",
  "persistence.s3.secretKey": "live-secret",
  "persistence.s3.region": "us-east-1",
  "persistence.s3.bucketName": "dify",
  "persistence.s3.addressType": "path",
  "persistence.s3.useAwsS3": false,
  "persistence.s3.useAwsManagedIam": false,
  "postgresql.enabled": false,
  "externalRedis.enabled": true,
  "externalRedis.useSSL": false,
  "externalRedis.host": "host.docker.internal",
  "externalRedis.port": 6380,
  "externalRedis.username": "",
  "externalRedis.password": "redis-pass",
  "externalRedis.db": 0,
  "redis.enabled": false,
  "vectorDB.useExternal": true,
  "vectorDB.externalType": "qdrant",
  "vectorDB.externalQdrant.endpoint": "http://host.docker.internal:6340",
  "vectorDB.externalQdrant.apiKey": "qdrant-key",
  "qdrant.enabled": false,
};

describe("renderValues", () => {
  it("chart 3.7: externalPostgres with one credentials block per database, and every common key", () => {
    const expected: Record<string, unknown> = { ...COMMON, "externalPostgres.enabled": true, "externalPostgres.address": "host.docker.internal", "externalPostgres.port": 55433 };
    for (const db of ["dify", "plugin_daemon", "enterprise", "audit"]) {
      Object.assign(expected, {
        [`externalPostgres.credentials.${db}.database`]: db,
        [`externalPostgres.credentials.${db}.username`]: "pguser",
        [`externalPostgres.credentials.${db}.password`]: "pg-pass",
        [`externalPostgres.credentials.${db}.sslmode`]: "disable",
        [`externalPostgres.credentials.${db}.extras`]: "",
        [`externalPostgres.credentials.${db}.charset`]: "",
        [`externalPostgres.credentials.${db}.uriScheme`]: "postgresql",
      });
    }
    const got = leaves(renderValues(liveFacts(), { chart: "3.7", secrets: SECRETS }));
    expect(got).toEqual(expected);
    expect(Object.keys(got).some((k) => k.startsWith("externalDatabase"))).toBe(false);
  });

  it("chart 3.9: externalDatabase with one user and a map of databases, and every common key", () => {
    const got = leaves(renderValues(liveFacts(), { chart: "3.9", secrets: SECRETS }));
    expect(got).toEqual({
      ...COMMON,
      "externalDatabase.enabled": true,
      "externalDatabase.engine": "postgres",
      "externalDatabase.host": "host.docker.internal",
      "externalDatabase.port": 55433,
      "externalDatabase.user": "pguser",
      "externalDatabase.password": "pg-pass",
      "externalDatabase.databases.dify": "dify",
      "externalDatabase.databases.plugin_daemon": "plugin_daemon",
      "externalDatabase.databases.enterprise": "enterprise",
      "externalDatabase.databases.audit": "audit",
      "externalDatabase.dialectOptions.postgres.sslMode": "disable",
      "externalDatabase.dialectOptions.postgres.uriScheme": "postgresql",
      "externalDatabase.dialectOptions.postgres.extras": "",
    });
  });

  it("the seed's defaults give the seed's endpoints and credentials", () => {
    const v = renderValues(factsFrom(parseConfig({}), new Map()), { chart: "3.9", secrets: SECRETS });
    expect(valueAt(v, ["persistence", "s3", "endpoint"])).toBe("http://host.docker.internal:9000");
    expect(valueAt(v, ["persistence", "s3", "accessKey"])).toBe("minioadmin");
    expect(valueAt(v, ["persistence", "s3", "secretKey"])).toBe("minioadmin123");
    expect(valueAt(v, ["externalDatabase", "port"])).toBe(55432);
    expect(valueAt(v, ["externalRedis", "password"])).toBe("devpassword");
    expect(valueAt(v, ["plugin_connector", "imageRepoPrefix"])).toBe("host.docker.internal:5050");
  });
});

describe("valuesYaml", () => {
  it("starts with the marker and parses back to the same values", () => {
    const v = renderValues(liveFacts(), { chart: "3.7", secrets: { ...SECRETS, appSecretKey: "a+b/c==" } });
    const text = valuesYaml(v, "3.7");
    expect(text.startsWith(VALUES_MARKER)).toBe(true);
    expect(text).toContain("(chart 3.7.x)");
    expect(parse(text)).toEqual(v);
  });
});

describe("key paths", () => {
  it("valuesKeyPaths lists the owned leaves of each chart line", () => {
    const k37 = valuesKeyPaths("3.7").map(formatKeyPath);
    const k39 = valuesKeyPaths("3.9").map(formatKeyPath);
    expect(k37).toEqual(Object.keys(leaves(renderValues(liveFacts(), { chart: "3.7", secrets: SECRETS }))));
    expect(k39).toContain("externalDatabase.dialectOptions.postgres.sslMode");
    expect(k37).toContain("externalPostgres.credentials.audit.uriScheme");
    expect(k37.filter((k) => !k.startsWith("externalPostgres."))).toEqual(k39.filter((k) => !k.startsWith("externalDatabase.")));
  });

  it("flattenValues treats lists, null and empty maps as leaves", () => {
    expect(flattenValues({ a: { b: [1, 2], c: null, d: {} }, e: 1 })).toEqual([
      { path: ["a", "b"], value: [1, 2] },
      { path: ["a", "c"], value: null },
      { path: ["a", "d"], value: {} },
      { path: ["e"], value: 1 },
    ]);
    expect(flattenValues({})).toEqual([]);
  });

  it("valueAt walks plain objects only", () => {
    expect(valueAt({ a: { b: 1 } }, ["a", "b"])).toBe(1);
    expect(valueAt({ a: [1] }, ["a", "0"])).toBeUndefined();
    expect(valueAt({ a: "x" }, ["a", "b"])).toBeUndefined();
  });
});

describe("chart lines", () => {
  it("detectChart reads the PostgreSQL block", () => {
    expect(detectChart({ externalDatabase: {}, externalPostgres: {} })).toBe("3.9");
    expect(detectChart({ externalPostgres: { enabled: false } })).toBe("3.7");
    expect(detectChart({ global: {} })).toBeUndefined();
    expect(detectChart(null)).toBeUndefined();
  });

  it("parseChart accepts a line or a full version of it", () => {
    expect(parseChart("3.7")).toBe("3.7");
    expect(parseChart("3.9.2")).toBe("3.9");
    expect(parseChart("3.9.x")).toBe("3.9");
    expect(parseChart("3.8")).toBeUndefined();
    expect(parseChart("latest")).toBeUndefined();
  });
});
