import { describe, expect, it } from "vitest";
import { parseConfig, parseConfigText, type ConfigInput } from "../config/index.js";
import { UserError } from "../errors.js";
import { valueAt } from "../helm/index.js";
import { renderStackEnv, serviceValues } from "../stack/values.js";
import { externalFailure, networkFailure } from "./external.js";
import {
  BUILTIN_SERVICES,
  SERVICES,
  clusterEnabled,
  createDatabaseSql,
  isExternal,
  postgresExternalFindings,
  postgresFailure,
  qdrantFailure,
  redisFailure,
  sslOption,
} from "./index.js";

const EXTERNAL: ConfigInput = {
  postgres: { external: { host: "db.internal", port: 5433, user: "dify", password: "pg-secret", sslmode: "require" } },
  redis: { external: { host: "cache.internal", port: 6380, password: "redis-secret", username: "app", tls: true, db: 2 } },
  qdrant: { external: { url: "https://qdrant.internal:6333", apiKey: "q-secret" } },
  cluster: { enabled: false },
};

function userError(input: unknown): UserError {
  try {
    parseConfig(input);
  } catch (err) {
    if (err instanceof UserError) return err;
    throw err;
  }
  throw new Error("the configuration parsed");
}

describe("external sections: configuration", () => {
  it("parses, with the defaults of each external section", () => {
    const c = parseConfig({ postgres: { external: { host: "db", user: "u", password: "p" } } });
    expect(c.postgres.external).toEqual({ host: "db", port: 5432, user: "u", password: "p", sslmode: "require", database: "postgres" });
    expect(isExternal(BUILTIN_SERVICES.postgres, c)).toBe(true);
    expect(isExternal(BUILTIN_SERVICES.redis, c)).toBe(false);
  });

  it("refuses a connection key of the container beside external, naming it (exit 2)", () => {
    const err = userError({ postgres: { port: 5433, external: { host: "db", user: "u", password: "p" } } });
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(/postgres\.port/);
    expect(err.message).toMatch(/inside external/);
    expect(userError({ qdrant: { apiKey: "k", external: { url: "http://q:6333" } } }).message).toMatch(/qdrant\.apiKey/);
  });

  it("accepts the container-only keys beside external (unused), and the port without external", () => {
    expect(() =>
      parseConfig({ postgres: { container: "pg", image: "postgres:16", external: { host: "db", user: "u", password: "p" } } }),
    ).not.toThrow();
    expect(parseConfig({ postgres: { port: 5433 } }).postgres.port).toBe(5433);
  });

  it("names the key of a bad external value", () => {
    expect(userError({ postgres: { external: { host: "db", user: "u", password: "p", sslmode: "prefer" } } }).message).toMatch(
      /postgres\.external\.sslmode.*disable, require, verify-ca, verify-full/,
    );
    expect(userError({ postgres: { external: { host: "db", user: "u", password: "p", ca: "/ca.pem" } } }).message).toMatch(
      /postgres\.external\.ca/,
    );
    expect(userError({ postgres: { external: { host: "postgres://db", user: "u", password: "p" } } }).message).toMatch(
      /postgres\.external\.host/,
    );
    expect(userError({ postgres: { external: { host: "db:5432", user: "u", password: "p" } } }).message).toMatch(
      /postgres\.external\.host/,
    );
    expect(parseConfig({ postgres: { external: { host: "::1", user: "u", password: "p" } } }).postgres.external?.host).toBe("::1");
    expect(userError({ redis: { external: { host: "r", db: 16 } } }).message).toMatch(/redis\.external\.db/);
    expect(userError({ redis: { external: { host: "r", tlss: true } } }).message).toMatch(/tlss/);
    expect(userError({ qdrant: { external: { url: "qdrant.internal:6333" } } }).message).toMatch(/qdrant\.external\.url/);
    expect(userError({ postgres: { external: { host: "db", user: "u", password: "-x" } } }).message).toMatch(
      /postgres\.external\.password/,
    );
  });

  it("reads ${NAME} in external keys from the environment, and names the key of an unset one", () => {
    const text = "postgres:\n  external:\n    host: db\n    user: dify\n    password: ${PG_PW}\n";
    expect(parseConfigText(text, "f.yaml", undefined, undefined, undefined, { PG_PW: "from-env" }).postgres.external?.password).toBe(
      "from-env",
    );
    expect(() => parseConfigText(text, "f.yaml", undefined, undefined, undefined, {})).toThrow(/postgres\.external\.password.*PG_PW/);
  });
});

describe("external services: what every command derives", () => {
  const config = parseConfig(EXTERNAL);

  it("reserve no host port, and give the external host:port as the endpoint for the host and the cluster", () => {
    const { postgres, redis, qdrant, minio } = BUILTIN_SERVICES;
    expect(postgres.hostPorts(config)).toEqual([]);
    expect(redis.hostPorts(config)).toEqual([]);
    expect(qdrant.hostPorts(config)).toEqual([]);
    expect(minio.hostPorts(config).length).toBeGreaterThan(0);
    expect(postgres.endpoints(config)[0]).toMatchObject({
      host: "postgresql://dify@db.internal:5433",
      cluster: "postgresql://dify@db.internal:5433",
    });
    expect(redis.endpoints(config)[0]).toMatchObject({ cluster: "rediss://cache.internal:6380" });
    expect(qdrant.endpoints(config)).toEqual([
      { label: "HTTP", host: "https://qdrant.internal:6333", cluster: "https://qdrant.internal:6333" },
    ]);
    expect(postgres.external(config)).toEqual({
      host: "db.internal",
      port: 5433,
      address: "db.internal:5433",
      tls: "TLS (sslmode require)",
    });
    expect(qdrant.external(config)?.port).toBe(6333);
    const defaultPort = parseConfig({ qdrant: { external: { url: "https://cloud.qdrant.example/" } } });
    expect(qdrant.endpoints(defaultPort)[0]?.cluster).toBe("https://cloud.qdrant.example:443");
  });

  it("know the external secrets, so every output masks them", () => {
    const all = SERVICES.flatMap((s) => s.secrets(config, undefined));
    expect(all).toEqual(expect.arrayContaining(["pg-secret", "redis-secret", "q-secret"]));
  });

  it("show the external credentials, read from the external section", () => {
    expect(BUILTIN_SERVICES.postgres.credentialSource(config, undefined)).toBe("external");
    expect(BUILTIN_SERVICES.postgres.credentials(config, undefined)).toContainEqual({ label: "user", value: "dify", secret: false });
  });

  for (const chart of ["3.7", "3.9"] as const) {
    it(`render values for chart ${chart} from the external facts, never the local defaults`, () => {
      const v = serviceValues({ services: SERVICES, config, observed: new Map() }, chart);
      const redis = { enabled: true, useSSL: true, host: "cache.internal", port: 6380, username: "app", password: "redis-secret", db: 2 };
      expect(valueAt(v, ["externalRedis"])).toEqual(redis);
      expect(valueAt(v, ["vectorDB", "externalQdrant"])).toEqual({ endpoint: "https://qdrant.internal:6333", apiKey: "q-secret" });
      if (chart === "3.7") {
        expect(valueAt(v, ["externalPostgres", "address"])).toBe("db.internal");
        expect(valueAt(v, ["externalPostgres", "port"])).toBe(5433);
        expect(valueAt(v, ["externalPostgres", "credentials", "plugin_daemon"])).toMatchObject({
          username: "dify",
          password: "pg-secret",
          sslmode: "require",
        });
      } else {
        expect(valueAt(v, ["externalDatabase"])).toMatchObject({ host: "db.internal", port: 5433, user: "dify", password: "pg-secret" });
        expect(valueAt(v, ["externalDatabase", "dialectOptions", "postgres", "sslMode"])).toBe("require");
      }
    });
  }

  it("render the .env from the external facts", () => {
    const env = renderStackEnv({ services: SERVICES, config, observed: new Map() });
    for (const line of [
      "DB_HOST=db.internal",
      "DB_PORT=5433",
      "DB_USERNAME=dify",
      "REDIS_HOST=cache.internal",
      "REDIS_USE_SSL=true",
      "REDIS_DB=2",
      "REDIS_USERNAME=app",
      "BROKER_USE_SSL=true",
      "QDRANT_URL=https://qdrant.internal:6333",
    ])
      expect(env).toContain(line);
    expect(env).toMatch(/CELERY_BROKER_URL=.*rediss:\/\/app:redis-secret@cache\.internal:6380\/1/);
  });
});

describe("external failures are classified and name the endpoint", () => {
  const at = { host: "db.internal", port: 5432, address: "db.internal:5432", tls: "no TLS (sslmode disable)" };
  const coded = (code: string, message = code): Error => Object.assign(new Error(message), { code });

  it("tells DNS, unreachable and TLS apart from the network's codes", () => {
    expect(networkFailure(coded("ENOTFOUND", "getaddrinfo ENOTFOUND db.internal"))?.kind).toBe("dns");
    expect(networkFailure(coded("ECONNREFUSED"))?.kind).toBe("unreachable");
    expect(networkFailure(new Error("fetch failed", { cause: coded("ECONNREFUSED") }))?.kind).toBe("unreachable");
    expect(networkFailure(new AggregateError([coded("ECONNREFUSED")], ""))?.kind).toBe("unreachable");
    expect(networkFailure(coded("DEPTH_ZERO_SELF_SIGNED_CERT", "self-signed certificate"))?.kind).toBe("tls");
    expect(networkFailure(new Error("Connection terminated due to connection timeout"))?.kind).toBe("unreachable");
    expect(networkFailure(new Error("syntax error"))).toBeUndefined();
  });

  it("tells PostgreSQL's auth failure from its TLS-required answer", () => {
    expect(postgresFailure(coded("28P01", 'password authentication failed for user "dify"'))?.kind).toBe("auth");
    const noTls = coded("28000", 'no pg_hba.conf entry for host "172.17.0.1", user "dify", database "postgres", no encryption');
    expect(postgresFailure(noTls)?.kind).toBe("tls-required");
    expect(postgresFailure(new Error("The server does not support SSL connections"))?.kind).toBe("tls");
    expect(redisFailure(new Error("WRONGPASS invalid username-password pair or user is disabled."))?.kind).toBe("auth");
    expect(qdrantFailure(Object.assign(new Error("Unauthorized"), { status: 401 }))?.kind).toBe("auth");
  });

  it("words the error with the service, host:port, the class and the server's answer (exit 1)", () => {
    const err = externalFailure(
      { name: "postgres", title: "PostgreSQL" },
      at,
      { kind: "auth", answer: "password authentication failed" },
      new Error(),
    );
    expect(err.exitCode).toBe(1);
    expect(err.message).toBe(
      "PostgreSQL at db.internal:5432 (external, no TLS (sslmode disable)): authentication failed: password authentication failed",
    );
    expect(err.hint).toMatch(/postgres\.external/);
  });

  it("doctor: sslmode disable against a server that requires TLS is an error with the fix", () => {
    const c = parseConfig(EXTERNAL).postgres;
    const [finding] = postgresExternalFindings(c, {
      address: "db.internal:5433",
      sslmode: "disable",
      failure: { kind: "tls-required", answer: "no pg_hba.conf entry ... no encryption" },
      error: "x",
      missingDatabases: [],
    });
    expect(finding).toMatchObject({ id: "postgres.external", severity: "error" });
    expect(finding?.fix).toMatch(/sslmode: require/);
    const ok = postgresExternalFindings(c, { address: "db.internal:5433", sslmode: "require", missingDatabases: ["audit"] });
    expect(ok.map((f) => f.severity)).toEqual(["ok", "error"]);
  });
});

describe("connection details", () => {
  it("maps sslmode to node-postgres's ssl option", async () => {
    expect(await sslOption({ sslmode: "disable" })).toBe(false);
    expect(await sslOption({})).toBe(false);
    expect(await sslOption({ sslmode: "require" })).toEqual({ rejectUnauthorized: false });
    const full = await sslOption({ sslmode: "verify-full" });
    expect(full).toEqual({ rejectUnauthorized: true });
    const ca = await sslOption({ sslmode: "verify-ca" });
    expect(ca && ca.rejectUnauthorized).toBe(true);
    expect(ca && typeof ca.checkServerIdentity).toBe("function");
    await expect(sslOption({ sslmode: "verify-ca", ca: "/nonexistent/ca.pem" })).rejects.toThrow(/postgres\.external\.ca/);
  });

  it("gives the SQL to create the databases, quoted", () => {
    expect(createDatabaseSql("dify", ["dify", "audit"])).toBe(
      'CREATE DATABASE "dify" OWNER "dify";\nCREATE DATABASE "audit" OWNER "dify";',
    );
  });

  it("sees Redis cluster mode in INFO cluster", () => {
    expect(clusterEnabled("# Cluster\r\ncluster_enabled:1\r\n")).toBe(true);
    expect(clusterEnabled("# Cluster\r\ncluster_enabled:0\r\n")).toBe(false);
  });
});
