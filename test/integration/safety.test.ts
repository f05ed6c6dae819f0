/**
 * The README's safety claims, each provoked for real on the engine (real PostgreSQL, Redis and
 * registry; the MinIO stand-in and the Qdrant double), so each test fails when its claim is false:
 * - published ports bind to loopback by default, and `bind: 0.0.0.0` exposes them;
 * - `verify` fails on minio.credentials when MinIO's live credentials differ from the config;
 * - `doctor` with DOCKER_HOST at a dead socket reports the engine first, as an error, and returns;
 * - `down --purge` keeps a volume with a config name that dify-local did not make.
 * The cluster's /etc/hosts alias after a node restart is in cluster-restart.test.ts.
 */
import { connect } from "node:net";
import { networkInterfaces } from "node:os";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { doctor, down, RecordingSink, up, verify } from "../../src/index.js";
import { cleanup, docker, exists, namesOf, testConfig } from "../support/stack.js";

const BASE = 22000;
const config = testConfig("safety", BASE);
const { containers, volumes } = namesOf(config);
const REDIS_PASSWORD = "devpassword";
const MINIO_PASSWORD = "minioadmin123";
/** Made by hand before `up`, without dify-local's label: `up` uses it, `down --purge` must keep it. */
const HAND_VOLUME = config.redis!.volume!;

type Bindings = Record<string, Array<{ HostIp: string; HostPort: string }> | null>;

/** Every host binding of every container of the config, as the engine recorded it. */
async function bindings(): Promise<Array<{ container: string; port: string; hostIp: string; hostPort: string }>> {
  const out: Array<{ container: string; port: string; hostIp: string; hostPort: string }> = [];
  for (const name of containers) {
    const info = await docker.getContainer(name).inspect();
    for (const [port, list] of Object.entries((info.HostConfig.PortBindings ?? {}) as Bindings)) {
      for (const b of list ?? []) out.push({ container: name, port, hostIp: b.HostIp, hostPort: b.HostPort });
    }
  }
  return out;
}

/** An IPv4 address of this machine that is not loopback: where the rest of the network would knock. */
function nonLoopbackAddress(): string | undefined {
  return Object.values(networkInterfaces())
    .flat()
    .find((a) => a !== undefined && a.family === "IPv4" && !a.internal)?.address;
}

/** Whether a TCP connection to host:port is accepted (a refusal or no answer within 5 s is "closed"). */
function tcpOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (open: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(open);
    };
    const timer = setTimeout(() => done(false), 5000);
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** A real Redis round trip (AUTH, then PING) at host:port. */
async function redisPing(host: string, port: number): Promise<string> {
  const client = new Redis({ host, port, password: REDIS_PASSWORD, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on("error", () => undefined);
  try {
    await client.connect();
    return await client.ping();
  } finally {
    client.disconnect();
  }
}

/** Runs a shell script in a throwaway container with `volume` at /v (the Redis fixture has sh); its output. */
async function inVolume(volume: string, script: string): Promise<string> {
  const c = await docker.createContainer({
    Image: config.redis!.image!,
    Entrypoint: ["sh", "-c", script],
    Tty: true,
    HostConfig: { Mounts: [{ Type: "volume", Source: volume, Target: "/v" }] },
  });
  try {
    await c.start();
    await c.wait();
    return (await c.logs({ stdout: true, stderr: true })).toString("utf8").trim();
  } finally {
    await c.remove({ force: true, v: true });
  }
}

/** Polls MinIO's health endpoint until it answers (bounded), after a container was made by hand. */
async function waitForMinio(port: number): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const answered = await fetch(`http://127.0.0.1:${port}/minio/health/live`).then(
      (r) => r.ok,
      () => false,
    );
    if (answered) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`MinIO on ${port} did not answer`);
}

describe.skipIf(!inject("engine"))("the README's safety claims", () => {
  beforeAll(async () => {
    await cleanup(config);
    // A volume with the config's name that dify-local did not make (no labels), made before `up`.
    await docker.createVolume({ Name: HAND_VOLUME });
    const made = (await docker.getVolume(HAND_VOLUME).inspect()) as unknown as { Labels: Record<string, string> | null };
    expect(made.Labels ?? {}).toEqual({});
    // Someone's data in it: it must still be there after `down --purge`.
    expect(await inVolume(HAND_VOLUME, "echo made by hand > /v/dlt-hand-marker && cat /v/dlt-hand-marker")).toBe("made by hand");
    const result = await up({ config });
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);
  });
  afterAll(() => cleanup(config));

  it("publishes every port on 127.0.0.1 only: answered on loopback, refused on the machine's other addresses", async () => {
    const all = await bindings();
    // registry, postgres, redis, minio (API and console), qdrant (HTTP and gRPC).
    expect(all).toHaveLength(7);
    expect(all.filter((b) => b.hostIp !== "127.0.0.1")).toEqual([]);

    const redisPort = config.redis!.port!;
    expect(await redisPing("127.0.0.1", redisPort)).toBe("PONG");
    const address = nonLoopbackAddress();
    expect(address, "this machine has no non-loopback IPv4 address to knock on").toBeDefined();
    for (const b of all) expect(await tcpOpen(address!, Number(b.hostPort)), `${b.container} ${b.port} on ${address}`).toBe(false);
  });

  it("verify fails on minio.credentials when the config's MinIO password differs from the running container's", async () => {
    const drifted = testConfig("safety", BASE, { minio: { rootPassword: "not-the-live-one" } });
    const result = await verify({ config: drifted });
    expect(result.ok).toBe(false);
    const failed = result.checks.filter((c) => !c.ok);
    // Only the credentials check: the server itself still answers the live credentials.
    expect(failed.map((c) => c.id)).toEqual(["minio.credentials"]);
    expect(failed[0]).toMatchObject({
      detail: "container's MINIO_ROOT_PASSWORD differs from minio.rootPassword",
      fix: expect.stringContaining("dify-local up"),
    });
    expect(JSON.stringify(result)).not.toContain(MINIO_PASSWORD);
    expect(result.checks.find((c) => c.id === "minio.auth")?.ok).toBe(true);
    // The config that matches still passes: the check compares, it does not just fail.
    expect((await verify({ config })).ok).toBe(true);
  });

  it("verify fails on minio.credentials when the MinIO container was recreated by hand with other credentials", async () => {
    const name = config.minio!.container!;
    const port = config.minio!.port!;
    await docker.getContainer(name).remove({ force: true });
    const hand = await docker.createContainer({
      name,
      Image: config.minio!.image!,
      Env: ["MINIO_ROOT_USER=hand-made-user", "MINIO_ROOT_PASSWORD=hand-made-secret"],
      Cmd: ["server", "/data", "--console-address", ":9001"],
      ExposedPorts: { "9000/tcp": {}, "9001/tcp": {} },
      HostConfig: {
        PortBindings: {
          "9000/tcp": [{ HostIp: "127.0.0.1", HostPort: String(port) }],
          "9001/tcp": [{ HostIp: "127.0.0.1", HostPort: String(config.minio!.consolePort!) }],
        },
        Mounts: [{ Type: "volume", Source: config.minio!.volume!, Target: "/data" }],
      },
    });
    await hand.start();
    await waitForMinio(port);

    const result = await verify({ config });
    expect(result.ok).toBe(false);
    const failed = result.checks.filter((c) => !c.ok);
    expect(failed.map((c) => c.id)).toEqual(["minio.credentials"]);
    expect(failed[0]?.detail).toBe(`container has MINIO_ROOT_USER=hand-made-user, config has ${config.minio!.rootUser ?? "minioadmin"}`);
    // verify talks to the live server with the live credentials, so S3 itself answers.
    expect(result.checks.find((c) => c.id === "minio.auth")?.ok).toBe(true);

    // Put dify-local's own container back for the tests that follow.
    await hand.remove({ force: true });
    expect((await up({ config })).ok).toBe(true);
  });

  it("doctor with DOCKER_HOST at a dead socket reports the engine first, as an error, and returns", async () => {
    const dead = `unix:///tmp/dlt-safety-${process.pid}-no-engine.sock`;
    const result = await doctor({ config, env: { ...process.env, DOCKER_HOST: dead } });
    expect(result.findings[0]).toMatchObject({ id: "prereq.engine", severity: "error", what: `no Docker engine reachable at ${dead}` });
    expect(result.findings[0]?.fix).toContain("DOCKER_HOST");
    expect(result.ok).toBe(false);
    expect(result.errors).toBeGreaterThanOrEqual(1);
  });

  it("bind: 0.0.0.0 publishes every port on all addresses, and the services answer on a non-loopback one", async () => {
    const open = testConfig("safety", BASE, { bind: "0.0.0.0" });
    const result = await up({ config: open });
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);
    const all = await bindings();
    expect(all).toHaveLength(7);
    expect(all.filter((b) => b.hostIp !== "0.0.0.0")).toEqual([]);

    const address = nonLoopbackAddress();
    expect(address).toBeDefined();
    expect(await redisPing(address!, config.redis!.port!)).toBe("PONG");
    for (const b of all) expect(await tcpOpen(address!, Number(b.hostPort)), `${b.container} ${b.port} on ${address}`).toBe(true);

    // Back to the default: loopback again, and refused elsewhere.
    expect((await up({ config })).ok).toBe(true);
    expect((await bindings()).every((b) => b.hostIp === "127.0.0.1")).toBe(true);
    expect(await tcpOpen(address!, config.redis!.port!)).toBe(false);
  });

  it("down --purge deletes dify-local's volumes and keeps the one made by hand, saying so", async () => {
    const sink = new RecordingSink();
    const result = await down({ config, purge: true, sink });
    expect(result.volumesLeftAlone).toEqual([HAND_VOLUME]);
    expect([...result.volumesRemoved].sort()).toEqual(volumes.filter((v) => v !== HAND_VOLUME).sort());
    expect(sink.events.find((e) => e.step === `volume ${HAND_VOLUME}`)).toMatchObject({
      status: "skip",
      detail: expect.stringContaining("kept"),
    });
    for (const c of containers) expect(await exists("container", c)).toBe(false);
    for (const v of volumes) expect(await exists("volume", v)).toBe(v === HAND_VOLUME);
    // The very volume made by hand, with its data: never deleted and recreated.
    expect(await inVolume(HAND_VOLUME, "cat /v/dlt-hand-marker")).toBe("made by hand");
  });
});
