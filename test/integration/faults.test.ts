/**
 * Issue 8 §2, faults survived, each provoked for real on the engine (real PostgreSQL, Redis and
 * registry; the MinIO stand-in, the Qdrant double). Before the faults a row goes into PostgreSQL,
 * a key into Redis and an object into MinIO, and some faults write more right before they strike;
 * every test ends with `verify` green and every datum written so far read back through its service.
 * The CLI runs as a child process (from the sources, through tsx) where the fault needs a process:
 * a signal, a pause at a chosen event, an engine that goes away under it.
 *
 * The kind node restart and the kind network link are in cluster-restart.test.ts; two `up` at once
 * in concurrency.test.ts.
 */
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { createServer, connect, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { doctor, down, OperationError, RecordingSink, up, verify, type ConfigInput } from "../../src/index.js";
import { resolveEngine } from "../../src/runtime/index.js";
import { lockDir } from "../../src/stack/index.js";
import { CliChild } from "../support/cli-child.js";
import { removeImage } from "../support/images.js";
import { seedS3, withRedis } from "../support/clients.js";
import { cleanup, docker, namesOf, testConfig } from "../support/stack.js";

const BASE = 23300;
const config = testConfig("faults", BASE);
const { containers } = namesOf(config);
const [REGISTRY, POSTGRES, REDIS, MINIO, QDRANT] = containers as [string, string, string, string, string];
const MINIO_VOLUME = config.minio!.volume!;
const NEVER_READY = "dlt-faults/never-ready:1";

let dir: string;
let env: NodeJS.ProcessEnv;
const children: CliChild[] = [];

/** What was written before the faults, and must be read back after each. */
const written = { rows: [] as string[], keys: new Map<string, string>(), objects: new Map<string, string>() };

async function sql<T extends pg.QueryResultRow>(query: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ host: "127.0.0.1", port: BASE + 1, user: "postgres", password: "devpassword", database: "postgres" });
  await client.connect();
  try {
    return (await client.query<T>(query, params)).rows;
  } finally {
    await client.end();
  }
}

const s3 = seedS3(BASE + 3);

/** A row committed (autocommit: committed when the INSERT returns). */
async function writeRow(v: string): Promise<void> {
  await sql("INSERT INTO faults (v) VALUES ($1)", [v]);
  written.rows.push(v);
}

async function writeKey(key: string, value: string): Promise<void> {
  await withRedis(BASE + 2, (r) => r.set(key, value));
  written.keys.set(key, value);
}

async function writeObject(key: string, body: string): Promise<void> {
  await s3.putObject("dify", key, Buffer.from(body));
  written.objects.set(key, body);
}

async function streamText(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks).toString("utf8");
}

/** Every row, key and object written so far, read back through the services. */
async function expectDataIntact(): Promise<void> {
  const rows = await sql<{ v: string }>("SELECT v FROM faults ORDER BY v");
  expect(rows.map((r) => r.v)).toEqual([...written.rows].sort());
  for (const [key, value] of written.keys) expect(await withRedis(BASE + 2, (r) => r.get(key)), key).toBe(value);
  for (const [key, body] of written.objects) expect(await streamText(await s3.getObject("dify", key)), key).toBe(body);
}

/** The end of every fault: verify green, every datum there, no lock file left behind. */
async function greenAndIntact(cfg: ConfigInput = config): Promise<void> {
  const checked = await verify({ config: cfg, env });
  expect(checked.checks.filter((c) => !c.ok)).toEqual([]);
  await expectDataIntact();
  expect(await readdir(lockDir(env))).toEqual([]);
}

/** The library's options for this stack: its own lock directory, so the test sees what is left in it. */
function opts(cfg: ConfigInput = config): { config: ConfigInput; env: NodeJS.ProcessEnv } {
  return { config: cfg, env };
}

async function configFile(cfg: ConfigInput, name: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, stringify(cfg));
  return file;
}

function cli(args: string[], file: string, extraEnv: NodeJS.ProcessEnv = {}): CliChild {
  const child = new CliChild([...args, "--config", file], { ...env, ...extraEnv });
  children.push(child);
  return child;
}

async function running(name: string): Promise<boolean> {
  return (await docker.getContainer(name).inspect()).State.Running;
}

/** SIGKILL to the container's main process, as `docker kill` sends it; returns once it has stopped. */
async function sigkill(name: string): Promise<void> {
  await docker.getContainer(name).kill({ signal: "SIGKILL" });
  await expect.poll(() => running(name), { timeout: 20_000 }).toBe(false);
}

async function logsOf(name: string): Promise<string> {
  const buf = await docker.getContainer(name).logs({ stdout: true, stderr: true, tail: 200, follow: false });
  return buf.toString("utf8");
}

describe.skipIf(!inject("engine"))("faults survived (real engine): verify green and no datum lost after each", () => {
  let defaultFile: string;

  beforeAll(async () => {
    await cleanup(config);
    dir = await mkdtemp(join(tmpdir(), "dlt-faults-"));
    env = { ...process.env, XDG_RUNTIME_DIR: join(dir, "run") };
    defaultFile = await configFile(config, "dify-local.yaml");
    const result = await up(opts());
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);
    await sql("CREATE TABLE faults (v text)");
    await writeRow("written before the faults");
    await writeKey("dlt:faults", "written before the faults");
    await writeObject("privkeys/faults/private.pem", "written before the faults");
  });
  afterAll(async () => {
    await Promise.all(children.map((c) => c.stop()));
    await cleanup(config);
    await removeImage(NEVER_READY);
    await rm(dir, { recursive: true, force: true });
  });

  it("a container removed by hand (docker rm -f): the next up recreates it on the same volume", async () => {
    await docker.getContainer(REDIS).remove({ force: true });
    const result = await up(opts());
    expect(result.changes).toEqual([`${REDIS}: created`]);
    // Its volume was there all along: nothing to report as lost.
    expect(result.warnings).toEqual([]);
    await greenAndIntact();
  });

  it("a service container SIGKILLed in the middle of up: up fails naming it, the next up converges", async () => {
    await docker.getContainer(POSTGRES).remove({ force: true });
    const child = cli(["up"], defaultFile);
    // The container has just started and up waits for it to answer: pause up there, kill PostgreSQL.
    await child.event("postgres container", "ok");
    child.child.kill("SIGSTOP");
    try {
      await sigkill(POSTGRES);
    } finally {
      child.child.kill("SIGCONT");
    }
    const end = await child.exited();
    expect(end.code, end.stderr).toBe(1);
    expect(child.outcome()).toMatchObject({
      type: "error",
      exitCode: 1,
      message: expect.stringContaining(`PostgreSQL: container ${POSTGRES} is exited`) as unknown,
      hint: `docker logs ${POSTGRES}`,
    });
    // The other services were brought up all the same.
    for (const svc of ["registry", "redis", "minio", "qdrant"])
      expect(child.events()).toContainEqual(expect.objectContaining({ step: `${svc} ready`, status: "ok" }));

    const next = await up(opts());
    expect(next.changes).toEqual([`${POSTGRES}: started`]);
    await greenAndIntact();
  });

  it("PostgreSQL SIGKILLed right after a commit: the committed row survives (crash recovery)", async () => {
    await writeRow("committed right before SIGKILL");
    await sigkill(POSTGRES);
    const result = await up(opts());
    expect(result.changes).toEqual([`${POSTGRES}: started`]);
    // Not a clean shutdown: PostgreSQL replayed its WAL.
    expect(await logsOf(POSTGRES)).toMatch(/not properly shut down; automatic recovery in progress/);
    await greenAndIntact();
  });

  it("Redis SIGKILLed right after a write (append-only): the key survives", async () => {
    expect((await docker.getContainer(REDIS).inspect()).Config.Cmd).toEqual(expect.arrayContaining(["--appendonly", "yes"]));
    await writeKey("dlt:faults:sigkill", "written right before SIGKILL");
    await sigkill(REDIS);
    expect((await up(opts())).changes).toEqual([`${REDIS}: started`]);
    await greenAndIntact();
  });

  it("SIGINT during up: it stops promptly, says what it did, exits 130, releases its lock; the next up converges", async () => {
    await Promise.all([POSTGRES, MINIO].map((c) => docker.getContainer(c).remove({ force: true })));
    const child = cli(["up"], defaultFile);
    await child.event("postgres container", "ok");
    child.child.kill("SIGINT");
    // Bounded: it finishes the step in flight, starts no other.
    const end = await child.exited(30_000);
    expect(end.code, end.stderr).toBe(130);
    expect(end.stderr).toContain("SIGINT: stopping after the step in flight");
    expect(child.outcome()).toMatchObject({
      type: "error",
      exitCode: 130,
      error: "InterruptedError",
      message: expect.stringMatching(new RegExp(`^up interrupted by SIGINT: .*before stopping it made .*${POSTGRES}: created`)) as unknown,
      hint: expect.stringContaining("run `dify-local up` again") as unknown,
    });
    // PostgreSQL's pipeline stopped before its init (it was waiting for readiness when the signal came).
    expect(child.events().filter((e) => e.step === "postgres init")).toEqual([]);
    expect(await readdir(lockDir(env))).toEqual([]);

    const next = await up(opts());
    expect(next.ok).toBe(true);
    await greenAndIntact();
  });

  it("a second SIGINT during a recreate exits at once; the next up recreates what was removed", async () => {
    // A changed restart policy makes up recreate PostgreSQL (remove, then create on the same volume).
    const changed = testConfig("faults", BASE, { postgres: { restart: "always" } });
    const old = (await docker.getContainer(POSTGRES).inspect()).Id;
    const child = cli(["up"], await configFile(changed, "changed.yaml"));
    await child.event("postgres container", "start");
    child.child.kill("SIGINT");
    await expect.poll(() => child.stderr, { timeout: 10_000 }).toContain("SIGINT: stopping");
    child.child.kill("SIGINT");
    const end = await child.exited(30_000);
    expect(end.code).toBe(130);
    expect(end.stderr).toContain("SIGINT again: exiting now");
    // Even so, the exit hook released the lock.
    expect(await readdir(lockDir(env))).toEqual([]);

    // Where the recreate was cut: the engine finishes a removal it had begun; then the old
    // container is gone (and the new one not made, or made but not started), or still there.
    const settled = async (): Promise<string | undefined> => {
      const info = await docker
        .getContainer(POSTGRES)
        .inspect()
        .catch(() => undefined);
      return info?.State.Status === "removing" ? "removing" : info?.Id;
    };
    await expect.poll(settled, { timeout: 30_000 }).not.toBe("removing");
    const now = await settled();
    const expected = now === undefined ? "created" : now === old ? "recreated" : "started";
    const next = await up(opts(changed));
    expect(next.changes).toEqual([`${POSTGRES}: ${expected}`]);
    expect(next.ok).toBe(true);
    expect((await docker.getContainer(POSTGRES).inspect()).HostConfig.RestartPolicy?.Name).toBe("always");
    await greenAndIntact(changed);
    // And back to the config of the other tests.
    expect((await up(opts())).changes).toEqual([`${POSTGRES}: recreated`]);
    await greenAndIntact();
  });

  it("dockerd restarted (simulated): every container crashes, the restart policies bring them back, verify is green without up", async () => {
    const before = new Map<string, string>();
    for (const name of containers) {
      const info = await docker.getContainer(name).inspect();
      before.set(name, info.Id);
      // What the daemon reads at boot to decide what to start again.
      expect(info.HostConfig.RestartPolicy?.Name, name).toBe(name === REGISTRY ? "always" : "unless-stopped");
    }
    await Promise.all(containers.map((c) => sigkill(c)));
    expect((await verify(opts())).ok).toBe(false);

    // The daemon's boot, as it treats these policies after a crash: start every container whose policy says so.
    for (const name of containers) {
      const policy = (await docker.getContainer(name).inspect()).HostConfig.RestartPolicy?.Name;
      if (policy === "always" || policy === "unless-stopped") await docker.getContainer(name).start();
    }
    // The services take a moment to answer again; no `up` in between.
    await expect
      .poll(async () => (await verify(opts())).checks.filter((c) => !c.ok).map((c) => c.id), { timeout: 60_000, interval: 500 })
      .toEqual([]);
    for (const name of containers) expect((await docker.getContainer(name).inspect()).Id).toBe(before.get(name));
    await greenAndIntact();
  });

  it("a service that never becomes ready: the timeout names it with its last log lines; the others are up", async () => {
    await buildNeverReady();
    const stuck = testConfig("faults", BASE, { readyTimeout: 3, qdrant: { image: NEVER_READY } });
    const err = await up(opts(stuck)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OperationError);
    const message = (err as Error).message;
    expect(message).toMatch(/^Qdrant did not answer within 3s: /);
    expect(message).toContain(`last log lines of ${QDRANT}:`);
    expect(message).toContain("never-ready: started, and serving nothing");
    // Every other service is up and passes its checks.
    const checked = await verify(opts(stuck));
    const failed = checked.checks.filter((c) => !c.ok).map((c) => c.id);
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.every((id) => id.startsWith("qdrant."))).toBe(true);

    // The config's own image again: up recreates Qdrant.
    expect((await up(opts())).changes).toEqual([`${QDRANT}: recreated`]);
    await greenAndIntact();
  });

  it("the engine going away in the middle of up: a clear error, exit 3; the next up converges", async () => {
    const proxy = await engineProxy(join(dir, "engine.sock"));
    await docker.getContainer(REDIS).remove({ force: true });
    const child = cli(["up"], defaultFile, { DOCKER_HOST: `unix://${proxy.path}` });
    await child.event("redis container", "start");
    child.child.kill("SIGSTOP");
    await proxy.close();
    child.child.kill("SIGCONT");
    const end = await child.exited(60_000);
    expect(end.code, end.stderr).toBe(3);
    expect(child.outcome()).toMatchObject({
      type: "error",
      exitCode: 3,
      error: "EnvironmentError",
      message: expect.stringContaining(`the Docker engine at unix://${proxy.path} stopped answering during up: `) as unknown,
      hint: expect.stringContaining("run `dify-local up` again") as unknown,
    });
    expect(proxy.connections).toBeGreaterThan(0);

    const next = await up(opts());
    expect(next.changes).toContain(`${REDIS}: created`);
    await greenAndIntact();
  });

  it("a data volume deleted by hand: doctor and up say its data is lost, never paper over it", async () => {
    await docker.getContainer(MINIO).remove({ force: true });
    await docker.getVolume(MINIO_VOLUME).remove();

    const diagnosis = await doctor(opts());
    expect(diagnosis.ok).toBe(false);
    expect(diagnosis.findings.find((f) => f.id === "volumes.minio")).toMatchObject({
      severity: "error",
      what: expect.stringContaining(`volume ${MINIO_VOLUME} is missing: its data is lost`) as unknown,
    });
    const dry = await up({ ...opts(), dryRun: true });
    expect(dry.warnings).toEqual([expect.stringContaining(`volume ${MINIO_VOLUME} is missing: its data is lost`)]);

    const sink = new RecordingSink();
    const result = await up({ ...opts(), sink });
    expect(result.warnings).toEqual([
      expect.stringContaining(`volume ${MINIO_VOLUME} was missing and has been created empty: data from before is lost`),
    ]);
    expect(sink.events).toContainEqual({ step: `volume ${MINIO_VOLUME}`, status: "warn", detail: result.warnings[0] });
    // The CLI says it too (on the next such loss it prints the same line; here: the JSON result carries it).
    expect(result.ok).toBe(true);
    // Lost, as reported: the object is gone; everything else is there.
    await expect(s3.statObject("dify", "privkeys/faults/private.pem")).rejects.toMatchObject({ code: "NotFound" });
    written.objects.clear();
    await greenAndIntact();
    // Reported once: now the volume is in use again, doctor has nothing more to say about it.
    expect((await doctor(opts())).findings.find((f) => f.id === "volumes.minio")).toBeUndefined();
    await writeObject("privkeys/faults/private.pem", "written after the loss");
  });

  it("down --purge deletes the volumes on purpose: the next up reports no loss", async () => {
    const removed = await down({ ...opts(), purge: true });
    expect(removed.volumesRemoved).toHaveLength(containers.length);
    const result = await up(opts());
    expect(result.warnings).toEqual([]);
    expect(result.ok).toBe(true);
    written.rows.length = 0;
    written.keys.clear();
    written.objects.clear();
    await sql("CREATE TABLE faults (v text)");
    await greenAndIntact();
  });
});

/** An image that starts, logs a line, and never serves anything (on top of a fixture, so no registry is needed). */
async function buildNeverReady(): Promise<void> {
  const context = await mkdtemp(join(tmpdir(), "dlt-never-ready-"));
  try {
    await writeFile(
      join(context, "Dockerfile"),
      'FROM dify-local-fixture/qdrant:latest\nENTRYPOINT ["sh", "-c", "echo never-ready: started, and serving nothing; exec sleep 3600"]\nCMD []\n',
    );
    const stream = await docker.buildImage({ context, src: ["Dockerfile"] }, { t: NEVER_READY });
    await new Promise<void>((resolve, reject) => {
      docker.modem.followProgress(stream, (err: Error | null, out: Array<{ error?: string }>) => {
        const failed = out?.find((o) => o.error);
        if (err) reject(err);
        else if (failed?.error) reject(new Error(failed.error));
        else resolve();
      });
    });
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}

/**
 * A unix socket that forwards every connection to the real engine, until `close`: then the socket
 * file is gone and every open connection is cut, as when the engine stops.
 */
async function engineProxy(path: string): Promise<{ path: string; connections: number; close: () => Promise<void> }> {
  const upstream = resolveEngine(process.env).address;
  if (!upstream.startsWith("unix://")) throw new Error(`the engine proxy forwards to a unix socket; the engine is at ${upstream}`);
  const target = upstream.slice("unix://".length);
  const open = new Set<Socket>();
  const state = { path, connections: 0, close: async () => undefined as void };
  const server: Server = createServer((client) => {
    state.connections++;
    const engine = connect(target);
    for (const s of [client, engine]) {
      open.add(s);
      s.on("error", () => undefined);
      s.on("close", () => open.delete(s));
    }
    client.pipe(engine);
    engine.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  state.close = async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of open) s.destroy();
    await closed;
  };
  return state;
}
