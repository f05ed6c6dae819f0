import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseConfig, type ConfigInput } from "../config/index.js";
import { detectChart, flattenValues, formatKeyPath, parseChart, valueAt, valuesYaml, VALUES_MARKER, ENV_MARKER } from "../helm/index.js";
import type { ObservedContainer } from "../runtime/index.js";
import { observedContainer } from "../../test/support/observed.js";
import { SERVICES } from "../services/index.js";
import { credentialSources, renderStackEnv, renderValues, valuesWarnings, type LiveStack } from "./values.js";
import { TEST_CHART_SECRETS } from "../../test/support/chart-secrets.js";

const SECRETS = TEST_CHART_SECRETS;

/** Chart 3.7's keys beyond the common ones: its built-in MinIO switched off and its per-service inner API keys. */
const ONLY_37 = {
  "minio.enabled": false,
  "api.innerApi.apiKey": "api-inner",
  "sandbox.apiKey": "sandbox-key",
  "plugin_daemon.apiKey": "daemon-key",
  "plugin_connector.apiKey": "connector-key",
  "enterprise.innerApi.apiKey": "ent-inner",
};

const container = observedContainer;

function stack(input: ConfigInput, containers: ObservedContainer[] = []): LiveStack {
  return { services: SERVICES, config: parseConfig(input), observed: new Map(containers.map((c) => [c.name, c])) };
}

/** A live stack on other ports, whose containers run with other credentials than the seed's. */
function liveFacts(): LiveStack {
  return stack(
    { registry: { port: 5051 }, postgres: { port: 55433 }, redis: { port: 6380 }, minio: { port: 9100 }, qdrant: { port: 6340 } },
    [
      container("dev-postgres", { env: { POSTGRES_USER: "pguser", POSTGRES_PASSWORD: "pg-pass" } }),
      container("dev-redis", { cmd: ["redis-server", "--requirepass", "redis-pass", "--appendonly", "yes"] }),
      container("dev-minio", { env: { MINIO_ROOT_USER: "live-user", MINIO_ROOT_PASSWORD: "live-secret" } }),
      container("dev-qdrant", { env: { QDRANT__SERVICE__API_KEY: "qdrant-key" } }),
    ],
  );
}

/** Every leaf as `dotted.path -> value`. */
function leaves(values: unknown): Record<string, unknown> {
  return Object.fromEntries(flattenValues(values).map((e) => [formatKeyPath(e.path), e.value]));
}

const COMMON = {
  "global.appSecretKey": "app-key",
  "global.innerApiKey": "inner-key",
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
  it("chart 3.7: externalPostgres with one credentials block per database, its inner API keys, and every common key", () => {
    const expected: Record<string, unknown> = {
      ...COMMON,
      ...ONLY_37,
      "externalPostgres.enabled": true,
      "externalPostgres.address": "host.docker.internal",
      "externalPostgres.port": 55433,
    };
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
    const v = renderValues(stack({}), { chart: "3.9", secrets: SECRETS });
    expect(valueAt(v, ["persistence", "s3", "endpoint"])).toBe("http://host.docker.internal:9000");
    expect(valueAt(v, ["persistence", "s3", "accessKey"])).toBe("minioadmin");
    expect(valueAt(v, ["persistence", "s3", "secretKey"])).toBe("minioadmin123");
    expect(valueAt(v, ["externalDatabase", "port"])).toBe(55432);
    expect(valueAt(v, ["externalRedis", "password"])).toBe("devpassword");
    expect(valueAt(v, ["plugin_connector", "imageRepoPrefix"])).toBe("host.docker.internal:5050");
    expect(valueAt(v, ["ingress", "className"])).toBe("nginx");
  });

  it("the ingress class is the cluster's (cluster.ingress.className)", () => {
    const v = renderValues(stack({ cluster: { ingress: { controller: "none", className: "traefik" } } }), {
      chart: "3.9",
      secrets: SECRETS,
    });
    expect(valueAt(v, ["ingress"])).toEqual({ enabled: true, className: "traefik" });
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
  it("the two chart lines differ only in the PostgreSQL block and 3.7's own keys", () => {
    const k37 = Object.keys(leaves(renderValues(liveFacts(), { chart: "3.7", secrets: SECRETS })));
    const k39 = Object.keys(leaves(renderValues(liveFacts(), { chart: "3.9", secrets: SECRETS })));
    expect(k39).toContain("externalDatabase.dialectOptions.postgres.sslMode");
    expect(k37).toContain("externalPostgres.credentials.audit.uriScheme");
    const only37 = Object.keys(ONLY_37);
    expect(k37.filter((k) => !k.startsWith("externalPostgres.") && !only37.includes(k)).sort()).toEqual(
      k39.filter((k) => !k.startsWith("externalDatabase.")).sort(),
    );
    expect(k39).not.toContain("minio.enabled");
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

/** KEY=value lines as a map (comments and blank lines dropped). */
function entries(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split("\n")
      .filter((l) => l && !l.startsWith("#"))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
}

describe("renderStackEnv", () => {
  it("gives the community .env names for the live facts", () => {
    const live = stack({ postgres: { port: 55433 }, minio: { port: 9100 } }, [
      container("dev-minio", { env: { MINIO_ROOT_USER: "live-user", MINIO_ROOT_PASSWORD: "live-secret" } }),
      container("dev-redis", { cmd: ["redis-server", "--requirepass", "p@ss/word"] }),
    ]);
    const text = renderStackEnv(live);
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

describe("live credentials", () => {
  it("reads every credential from its container when there is one", () => {
    const live = stack({}, [
      container("dev-postgres", { env: { POSTGRES_USER: "pgu", POSTGRES_PASSWORD: "pgp" } }),
      container("dev-redis", { cmd: ["redis-server", "--requirepass", "rp", "--appendonly", "yes"] }),
      container("dev-minio", { env: { MINIO_ROOT_USER: "mu", MINIO_ROOT_PASSWORD: "mp" }, running: false, state: "exited" }),
      container("dev-qdrant", { env: { QDRANT__SERVICE__API_KEY: "qk" } }),
    ]);
    const v = leaves(renderValues(live, { chart: "3.9", secrets: SECRETS }));
    expect(v).toMatchObject({
      "externalDatabase.user": "pgu",
      "externalDatabase.password": "pgp",
      "externalDatabase.port": 55432,
      "externalDatabase.host": "host.docker.internal",
    });
    expect(v).toMatchObject({ "externalRedis.password": "rp", "externalRedis.port": 6379 });
    expect(v).toMatchObject({
      "persistence.s3.accessKey": "mu",
      "persistence.s3.secretKey": "mp",
      "persistence.s3.bucketName": "dify",
      "persistence.s3.region": "us-east-1",
    });
    expect(v).toMatchObject({ "vectorDB.externalQdrant.apiKey": "qk", "plugin_connector.imageRepoPrefix": "host.docker.internal:5050" });
    expect(credentialSources(live)).toEqual({ postgres: "container", redis: "container", minio: "container", qdrant: "container" });
    expect(valuesWarnings(live)).toEqual(["minio: the container is stopped; start it with `dify-local up`"]);
  });

  it("falls back to the config when a container is missing or does not show the credential", () => {
    const live = stack({}, [container("dev-redis", { cmd: ["redis-server"] })]);
    const v = leaves(renderValues(live, { chart: "3.9", secrets: SECRETS }));
    expect(v).toMatchObject({
      "externalDatabase.user": "postgres",
      "externalDatabase.password": "devpassword",
      "externalRedis.password": "devpassword",
    });
    expect(v).toMatchObject({
      "persistence.s3.accessKey": "minioadmin",
      "persistence.s3.secretKey": "minioadmin123",
      "vectorDB.externalQdrant.apiKey": "devpassword",
    });
    expect(credentialSources(live)).toEqual({ postgres: "config", redis: "config", minio: "config", qdrant: "config" });
    expect(valuesWarnings(live)).toContain("redis: the container does not show its credentials; they come from the config");
    expect(valuesWarnings(live)).toContain("postgres: no container; its credentials come from the config (run `dify-local up` first)");
  });

  it("a PostgreSQL container without POSTGRES_USER uses the image's default superuser", () => {
    const live = stack({ postgres: { user: "admin" } }, [container("dev-postgres", { env: { POSTGRES_PASSWORD: "p" } })]);
    expect(valueAt(renderValues(live, { chart: "3.9", secrets: SECRETS }), ["externalDatabase", "user"])).toBe("postgres");
  });

  it("a disabled service is rendered from the config, with a warning", () => {
    expect(valuesWarnings(stack({ qdrant: { enabled: false } }))).toContain(
      "qdrant: disabled in the config; the values point at port 6333 with the configured credentials",
    );
  });
});
