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

describe("planFor compares a container made by hand by meaning", () => {
  const hand = (over: Partial<ObservedContainer> = {}) =>
    observed({ labels: {}, ports: [{ containerPort: 6379, hostIp: "", hostPort: 6379 }], ...over });

  it("adopts one whose arguments come in another order, with the image written in full", () => {
    const item = planOf(
      hand({ image: "docker.io/library/redis:7", cmd: ["redis-server", "--appendonly", "yes", "--requirepass", "devpassword"] }),
    );
    expect(item.action).toBe("adopt");
  });

  it("adopts one whose data lives in a bind mount, and says the data stays there", () => {
    const item = planOf(hand({ mounts: [{ type: "bind", name: undefined, source: "/home/me/stack/data/redis", target: "/data" }] }));
    expect(item.action).toBe("adopt");
    expect(item.data).toEqual({ now: "host path /home/me/stack/data/redis", after: "host path /home/me/stack/data/redis" });
    expect(item.carry).toBeUndefined();
  });

  it("warns when the adopted container is published beyond loopback", () => {
    expect(planOf(hand()).warnings).toEqual(["dev-redis is published on 0.0.0.0:6379, beyond 127.0.0.1: reachable from your network"]);
    expect(planOf(hand({ ports: [{ containerPort: 6379, hostIp: "127.0.0.1", hostPort: 6379 }] })).warnings).toEqual([]);
  });

  it("--recreate carries its data over: the config's volume becomes a binding of the same files", () => {
    const mounts = [{ type: "bind", name: undefined, source: "/home/me/stack/data/redis", target: "/data" }];
    const item = planOf(hand({ cmd: ["redis-server"], mounts }), true);
    expect(item.action).toBe("recreate");
    expect(item.carry).toEqual({ device: "/home/me/stack/data/redis", from: "host path /home/me/stack/data/redis" });
    expect(item.data.now).toBe("host path /home/me/stack/data/redis");
    expect(item.data.after).toBe("volume dev-redis-data, bound to the same files (/home/me/stack/data/redis)");
  });

  it("--recreate of one whose data is in another volume binds that volume's directory", () => {
    const mounts = [{ type: "volume", name: "3f2a", source: "/var/lib/docker/volumes/3f2a/_data", target: "/data" }];
    expect(planOf(hand({ cmd: ["redis-server"], mounts }), true).carry).toEqual({
      device: "/var/lib/docker/volumes/3f2a/_data",
      from: "volume 3f2a",
    });
  });

  it("--recreate of one already on the config's volume carries nothing", () => {
    const mounts = [{ type: "volume", name: "dev-redis-data", source: "/var/lib/docker/volumes/dev-redis-data/_data", target: "/data" }];
    expect(planOf(hand({ cmd: ["redis-server"], mounts }), true).carry).toBeUndefined();
  });
});
