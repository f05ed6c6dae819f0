import { describe, expect, it } from "vitest";
import { MASK } from "../util/index.js";
import {
  collateName,
  commandMeaning,
  maskSecretArgs,
  normalizeImage,
  specDifferences,
  specHash,
  type ContainerSpec,
  type ObservedContainer,
} from "./spec.js";

const spec: ContainerSpec = {
  component: "registry",
  name: "local-registry",
  image: "registry:2",
  env: {},
  ports: [{ containerPort: 5000, hostPort: 5050, hostIp: "127.0.0.1", key: "registry.port" }],
  volumes: [{ volume: "local-registry-data", target: "/var/lib/registry" }],
  restart: "always",
};

/** What `docker run -d -p 5050:5000 --restart=always --name local-registry registry:2` leaves behind. */
const seedRegistry: ObservedContainer = {
  id: "abc",
  name: "local-registry",
  image: "registry:2",
  imageId: "sha256:1",
  running: true,
  state: "running",
  startedAt: "",
  labels: {},
  env: { PATH: "/usr/bin" },
  cmd: ["/etc/docker/registry/config.yml"],
  ports: [{ containerPort: 5000, hostIp: "", hostPort: 5050 }],
  mounts: [{ type: "volume", name: "0123abcd", target: "/var/lib/registry" }],
  restart: "always",
  networks: ["bridge"],
};

describe("normalizeImage", () => {
  it.each([
    ["registry:2", "registry:2"],
    ["docker.io/library/registry:2", "registry:2"],
    ["minio/minio", "minio/minio:latest"],
    ["docker.io/minio/minio:latest", "minio/minio:latest"],
    ["localhost:5000/x", "localhost:5000/x:latest"],
    ["ghcr.io/a/b:1", "ghcr.io/a/b:1"],
  ])("%s -> %s", (input, expected) => {
    expect(normalizeImage(input)).toBe(expected);
  });
});

describe("specHash", () => {
  it("is stable across env key order and changes with a port", () => {
    const a = specHash({ ...spec, env: { A: "1", B: "2" } });
    const b = specHash({ ...spec, env: { B: "2", A: "1" } });
    expect(a).toBe(b);
    expect(specHash({ ...spec, ports: [{ ...spec.ports[0]!, hostPort: 5051 }] })).not.toBe(specHash(spec));
  });
});

describe("specHash's order of variable names", () => {
  it("is localeCompare's for every pair of names over _, digits and letters (up to 3 characters)", () => {
    const alphabet = ["_", "0", "9", "A", "Z"];
    const names = alphabet.flatMap((a) => [a, ...alphabet.flatMap((b) => [a + b, ...alphabet.map((c) => a + b + c)])]);
    for (const a of names) for (const b of names) expect([a, b, collateName(a, b)]).toEqual([a, b, Math.sign(a.localeCompare(b))]);
    // Other names are localeCompare's own.
    expect(collateName("http_proxy", "HTTP_PROXY")).toBe(Math.sign("http_proxy".localeCompare("HTTP_PROXY")));
  });

  it("keeps the hash the earlier localeCompare sort made (an existing container must not look changed)", () => {
    const env = { POSTGRES_PASSWORD: "x", PGDATA: "/d", POSTGRES_USER: "u", A_B: "1", AB: "2", A1: "3", QDRANT__SERVICE__API_KEY: "k" };
    const pg: ContainerSpec = {
      component: "postgres",
      name: "dev-postgres",
      image: "postgres:17",
      env,
      ports: [{ containerPort: 5432, hostIp: "127.0.0.1", hostPort: 55432, key: "port" }],
      volumes: [{ volume: "v", target: "/d" }],
      restart: "unless-stopped",
      labels: {},
    } as ContainerSpec;
    // Made by the previous release's specHash (env sorted with localeCompare).
    expect(specHash(pg)).toBe("9acbd6e35564c69c");
  });
});

describe("specDifferences", () => {
  it("accepts the seed's hand-made registry for adoption (0.0.0.0 covers loopback)", () => {
    expect(specDifferences(spec, seedRegistry, { strict: false })).toEqual([]);
  });
  it("names a different host port with its config key", () => {
    const d = specDifferences({ ...spec, ports: [{ ...spec.ports[0]!, hostPort: 5051 }] }, seedRegistry, { strict: false });
    expect(d.join()).toContain("registry.port");
  });
  it("names a different image and a missing env var", () => {
    const d = specDifferences({ ...spec, image: "registry:3", env: { X: "1" } }, seedRegistry, { strict: false });
    expect(d).toHaveLength(2);
  });
  it("strict mode wants the exact bind address and the named volume", () => {
    const d = specDifferences(spec, seedRegistry, { strict: true });
    expect(d.some((x) => x.includes("127.0.0.1:5050"))).toBe(true);
    expect(d.some((x) => x.includes("local-registry-data"))).toBe(true);
  });
});

describe("commandMeaning", () => {
  it("treats options as a set of option/value pairs and keeps positional words in order", () => {
    expect(commandMeaning(["redis-server", "--requirepass", "p", "--appendonly", "yes"])).toBe(
      commandMeaning(["redis-server", "--appendonly", "yes", "--requirepass", "p"]),
    );
    expect(commandMeaning(["redis-server", "--requirepass=p"])).toBe(commandMeaning(["redis-server", "--requirepass", "p"]));
    expect(commandMeaning(["server", "/data", "--console-address", ":9001"])).toBe(
      commandMeaning(["server", "--console-address", ":9001", "/data"]),
    );
    expect(commandMeaning(["redis-server", "--requirepass", "p"])).not.toBe(commandMeaning(["redis-server", "--requirepass", "q"]));
    expect(commandMeaning(["a", "b"])).not.toBe(commandMeaning(["b", "a"]));
  });
});

describe("commands in differences: secrets never shown", () => {
  const redis: ContainerSpec = {
    ...spec,
    component: "redis",
    name: "dev-redis",
    image: "redis:7",
    cmd: ["redis-server", "--requirepass", "config-pass", "--appendonly", "yes"],
    ports: [],
    volumes: [],
  };
  const found = (cmd: string[]): ObservedContainer => ({ ...seedRegistry, name: "dev-redis", image: "redis:7", cmd, ports: [] });

  it("masks the values of secret-looking options in both spellings", () => {
    expect(maskSecretArgs(["redis-server", "--requirepass", "a", "--masterauth=b", "--api-key", "c", "--appendonly", "yes"])).toEqual([
      "redis-server",
      "--requirepass",
      MASK,
      `--masterauth=${MASK}`,
      "--api-key",
      MASK,
      "--appendonly",
      "yes",
    ]);
  });

  it("shows a command that differs elsewhere with its secrets masked", () => {
    const d = specDifferences(redis, found(["redis-server", "--requirepass", "hand-pass", "--appendonly", "no"]), { strict: false });
    expect(d).toEqual([
      `command is "redis-server --requirepass ${MASK} --appendonly no", config wants "redis-server --requirepass ${MASK} --appendonly yes"`,
    ]);
  });

  it("names the option when only a secret differs", () => {
    const d = specDifferences(redis, found(["redis-server", "--requirepass", "old-pass", "--appendonly", "yes"]), { strict: true });
    expect(d.join("; ")).toContain("command differs from the config in the value of --requirepass (not shown)");
    expect(d.join("; ")).not.toContain("old-pass");
    expect(d.join("; ")).not.toContain("config-pass");
  });

  it("passes the command through the mask for secrets no option name reveals", () => {
    const spec2 = { ...redis, cmd: ["server", "positional-secret"] };
    const mask = (t: string) => t.replaceAll("positional-secret", MASK).replaceAll("other-secret", MASK);
    expect(specDifferences(spec2, found(["server", "other-secret"]), { strict: false, mask })).toEqual([
      "command differs from the config in a secret value (not shown)",
    ]);
    expect(specDifferences(spec2, found(["server", "other-secret", "-v"]), { strict: false, mask })).toEqual([
      `command is "server ${MASK} -v", config wants "server ${MASK}"`,
    ]);
  });
});
