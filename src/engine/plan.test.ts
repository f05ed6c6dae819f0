import { describe, expect, it } from "vitest";
import { LABELS, specHash, type ContainerSpec, type ObservedContainer } from "../runtime/index.js";
import { changesOf, planFor } from "./plan.js";

const spec: ContainerSpec = {
  component: "redis",
  name: "dev-redis",
  image: "redis:7",
  env: {},
  cmd: ["redis-server", "--requirepass", "devpassword", "--appendonly", "yes"],
  ports: [{ containerPort: 6379, hostPort: 6379, hostIp: "127.0.0.1", key: "redis.port" }],
  volumes: [{ volume: "dev-redis-data", target: "/data" }],
  restart: "unless-stopped",
};

function observed(overrides: Partial<ObservedContainer> = {}): ObservedContainer {
  return {
    id: "id1",
    name: "dev-redis",
    image: "redis:7",
    imageId: "sha256:1",
    running: true,
    state: "running",
    startedAt: "",
    labels: { [LABELS.managed]: "true", [LABELS.component]: "redis", [LABELS.specHash]: specHash(spec) },
    env: {},
    cmd: spec.cmd ?? [],
    ports: [{ containerPort: 6379, hostIp: "127.0.0.1", hostPort: 6379 }],
    mounts: [{ type: "volume", name: "dev-redis-data", target: "/data" }],
    restart: "unless-stopped",
    networks: [],
    ...overrides,
  };
}

const planOf = (c?: ObservedContainer, recreate = false) => planFor([spec], new Map(c ? [[c.name, c]] : []), { recreate }).items[0]!;

describe("planFor", () => {
  it("creates a missing container", () => {
    expect(planOf().action).toBe("create");
  });
  it("keeps a running container of ours with the same spec: a converged stack plans no change", () => {
    const p = planFor([spec], new Map([["dev-redis", observed()]]));
    expect(p.items[0]!.action).toBe("keep");
    expect(changesOf(p)).toEqual([]);
  });
  it("starts a stopped one", () => {
    expect(planOf(observed({ running: false, state: "exited" })).action).toBe("start");
  });
  it("recreates ours when the spec hash differs, saying what differs", () => {
    const item = planOf(
      observed({
        labels: { [LABELS.managed]: "true", [LABELS.component]: "redis", [LABELS.specHash]: "old" },
        ports: [{ containerPort: 6379, hostIp: "127.0.0.1", hostPort: 6380 }],
      }),
    );
    expect(item.action).toBe("recreate");
    expect(item.reason).toContain("redis.port");
  });
  it("adopts a hand-made container that matches", () => {
    expect(planOf(observed({ labels: {}, ports: [{ containerPort: 6379, hostIp: "", hostPort: 6379 }] })).action).toBe("adopt");
  });
  it("refuses a hand-made container that differs, unless --recreate", () => {
    const foreign = observed({ labels: {}, cmd: ["redis-server"] });
    expect(planOf(foreign).action).toBe("conflict");
    expect(planOf(foreign, true).action).toBe("recreate");
  });
  it("refuses a container of ours that belongs to another component", () => {
    expect(planOf(observed({ labels: { [LABELS.managed]: "true", [LABELS.component]: "postgres" } })).action).toBe("conflict");
  });
});

describe("planFor with pulled image ids (--pull always)", () => {
  it("recreates a container of ours whose image id differs from the one just pulled", () => {
    const item = planFor([spec], new Map([["dev-redis", observed()]]), { pulled: new Map([["redis:7", "sha256:2"]]) }).items[0]!;
    expect(item.action).toBe("recreate");
    expect(item.reason).toContain("newer redis:7");
  });
  it("keeps it when the pulled id is the one it runs", () => {
    expect(planFor([spec], new Map([["dev-redis", observed()]]), { pulled: new Map([["redis:7", "sha256:1"]]) }).items[0]!.action).toBe(
      "keep",
    );
  });
  it("never recreates a hand-made container for a pulled image: it is adopted as is", () => {
    const hand = observed({ labels: {}, ports: [{ containerPort: 6379, hostIp: "", hostPort: 6379 }] });
    expect(planFor([spec], new Map([["dev-redis", hand]]), { pulled: new Map([["redis:7", "sha256:2"]]) }).items[0]!.action).toBe("adopt");
  });
});
