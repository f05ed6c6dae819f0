import { describe, expect, it } from "vitest";
import { parseConfig } from "../config/index.js";
import type { ObservedContainer } from "../runtime/index.js";
import { factSources, factsFrom, requirepass } from "./facts.js";

function container(name: string, over: Partial<ObservedContainer>): ObservedContainer {
  return {
    id: name,
    name,
    image: "x",
    imageId: "sha256:x",
    running: true,
    state: "running",
    startedAt: "",
    labels: {},
    env: {},
    cmd: [],
    ports: [],
    mounts: [],
    restart: "unless-stopped",
    networks: [],
    ...over,
  };
}

describe("factsFrom", () => {
  const config = parseConfig({});

  it("reads every credential from its container when there is one", () => {
    const observed = new Map([
      ["dev-postgres", container("dev-postgres", { env: { POSTGRES_USER: "pgu", POSTGRES_PASSWORD: "pgp" } })],
      ["dev-redis", container("dev-redis", { cmd: ["redis-server", "--requirepass", "rp", "--appendonly", "yes"] })],
      ["dev-minio", container("dev-minio", { env: { MINIO_ROOT_USER: "mu", MINIO_ROOT_PASSWORD: "mp" }, running: false, state: "exited" })],
      ["dev-qdrant", container("dev-qdrant", { env: { QDRANT__SERVICE__API_KEY: "qk" } })],
    ]);
    const facts = factsFrom(config, observed);
    expect(facts.host).toBe("host.docker.internal");
    expect(facts.postgres).toMatchObject({ user: "pgu", password: "pgp", port: 55432, source: "container", container: "running" });
    expect(facts.postgres.databases).toEqual({ dify: "dify", plugin_daemon: "plugin_daemon", enterprise: "enterprise", audit: "audit" });
    expect(facts.redis).toMatchObject({ password: "rp", port: 6379, source: "container" });
    expect(facts.minio).toMatchObject({ accessKey: "mu", secretKey: "mp", bucket: "dify", region: "us-east-1", source: "container", container: "stopped" });
    expect(facts.qdrant).toMatchObject({ apiKey: "qk", port: 6333, source: "container" });
    expect(facts.registry.port).toBe(5050);
    expect(factSources(facts)).toEqual({ postgres: "container", redis: "container", minio: "container", qdrant: "container" });
  });

  it("falls back to the config when a container is missing or does not show the credential", () => {
    const observed = new Map([["dev-redis", container("dev-redis", { cmd: ["redis-server"] })]]);
    const facts = factsFrom(config, observed);
    expect(facts.postgres).toMatchObject({ user: "postgres", password: "devpassword", source: "config", container: "missing" });
    expect(facts.redis).toMatchObject({ password: "devpassword", source: "config", container: "running" });
    expect(facts.minio).toMatchObject({ accessKey: "minioadmin", secretKey: "minioadmin123", source: "config" });
    expect(facts.qdrant).toMatchObject({ apiKey: "devpassword", source: "config" });
  });

  it("a PostgreSQL container without POSTGRES_USER uses the image's default superuser", () => {
    const facts = factsFrom(parseConfig({ postgres: { user: "admin" } }), new Map([["dev-postgres", container("dev-postgres", { env: { POSTGRES_PASSWORD: "p" } })]]));
    expect(facts.postgres.user).toBe("postgres");
  });
});

describe("requirepass", () => {
  it("finds the password in both spellings", () => {
    expect(requirepass(["redis-server", "--requirepass", "a b", "--appendonly", "yes"])).toBe("a b");
    expect(requirepass(["redis-server", "--requirepass=x"])).toBe("x");
    expect(requirepass(["redis-server"])).toBeUndefined();
  });
});
