/**
 * The kind cluster's ingress ports (cluster.httpPort / httpsPort) on the real engine, with the
 * fake `kind` publishing each node's extraPortMappings as kind does: a taken port must stop `up`
 * before anything changes, as every other port does. Also the fake's own fidelity to kind where
 * dify-local depends on it (strict config decoding, flags, `get kubeconfig --internal`).
 * Same pattern as cluster.test.ts, with its own names and ports.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ConflictError, doctor, down, up } from "../../src/index.js";
import { KubeApiDouble } from "../support/kube-api-double.js";
import { cleanup, docker, exists, namesOf, testConfig } from "../support/stack.js";

const BASE = 21900;
const CLUSTER = "dlt-ports";
const HTTP = BASE + 80;
const HTTPS = BASE + 81;
const config = testConfig("ports", BASE, {
  cluster: { enabled: true, name: CLUSTER, workers: 1, httpPort: HTTP, httpsPort: HTTPS, readyTimeout: 20 },
});
const { containers, volumes } = namesOf(config);
const FAKE_KIND = resolve("test/support/fake-kind");
const savedEnv = {
  PATH: process.env.PATH,
  FAKE_KIND_API_SERVER: process.env.FAKE_KIND_API_SERVER,
  FAKE_KIND_STATE_DIR: process.env.FAKE_KIND_STATE_DIR,
};
let api: KubeApiDouble;
let stateDir: string;

async function nodes(): Promise<string[]> {
  const list = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`io.x-k8s.kind.cluster=${CLUSTER}`] }) });
  return list.map((n) => n.Names[0]?.replace(/^\//, "") ?? "");
}

async function removeNodes(): Promise<void> {
  await Promise.all(
    (await nodes()).map((n) =>
      docker
        .getContainer(n)
        .remove({ force: true, v: true })
        .catch(() => undefined),
    ),
  );
}

function listen(port: number, host: string): Promise<Server> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen({ port, host, exclusive: true }, () => done(server));
  });
}

function kindCli(args: string[], stdin = ""): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(join(FAKE_KIND, "kind"), args, { env: process.env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => done({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

describe.skipIf(!inject("engine"))("the kind cluster's ports (fake kind publishing them, real engine)", () => {
  beforeAll(async () => {
    await removeNodes();
    await cleanup(config);
    stateDir = await mkdtemp(join(tmpdir(), "dlt-fake-kind-ports-"));
    api = new KubeApiDouble(CLUSTER);
    process.env.FAKE_KIND_API_SERVER = await api.start();
    process.env.FAKE_KIND_STATE_DIR = stateDir;
    process.env.PATH = `${FAKE_KIND}:${savedEnv.PATH ?? ""}`;
  });
  afterAll(async () => {
    await down({ config }).catch(() => undefined);
    await removeNodes();
    await cleanup(config);
    await api.stop();
    for (const [k, v] of Object.entries(savedEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await rm(stateDir, { recursive: true, force: true });
  });

  it("a taken cluster.httpPort stops up before anything changes: exit 4 naming the port and its holder", async () => {
    const holder = await listen(HTTP, "127.0.0.1");
    try {
      const err = await up({ config }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConflictError);
      expect((err as ConflictError).exitCode).toBe(4);
      expect((err as Error).message).toMatch(
        new RegExp(
          `127\\.0\\.0\\.1:${HTTP} \\(cluster\\.httpPort, for the kind cluster ${CLUSTER}\\) is in use by \\S+ \\(pid ${process.pid}\\)`,
        ),
      );
      expect((err as Error).message).not.toContain(String(HTTPS));
      // Nothing was made: no service container or volume, no node, and kind was never asked.
      for (const c of containers) expect(await exists("container", c)).toBe(false);
      for (const v of volumes) expect(await exists("volume", v)).toBe(false);
      expect(await nodes()).toEqual([]);
      expect(await readFile(join(stateDir, "calls.log"), "utf8")).not.toContain("create cluster");

      // The doctor names the same port and holder.
      const diagnosis = await doctor({ config });
      const finding = diagnosis.findings.find((f) => f.id === "ports.cluster.httpPort");
      expect(finding?.severity).toBe("error");
      expect(finding?.what).toMatch(
        new RegExp(`port 127\\.0\\.0\\.1:${HTTP} \\(cluster\\.httpPort\\) is held by \\S+ \\(pid ${process.pid}\\)`),
      );
      expect(diagnosis.findings.find((f) => f.id === "ports.cluster.httpsPort")).toBeUndefined();
    } finally {
      await new Promise((r) => holder.close(r));
    }
  });

  it("with the port free, kind publishes the ingress ports on the bind address; an existing cluster holds them", async () => {
    const result = await up({ config });
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);
    const given = parse(await readFile(join(stateDir, `${CLUSTER}.config.yaml`), "utf8")) as {
      nodes: Array<{ extraPortMappings?: unknown[] }>;
    };
    expect(given.nodes[0]?.extraPortMappings).toEqual([
      { containerPort: 80, hostPort: HTTP, listenAddress: "127.0.0.1", protocol: "TCP" },
      { containerPort: 443, hostPort: HTTPS, listenAddress: "127.0.0.1", protocol: "TCP" },
    ]);
    const controlPlane = await docker.getContainer(`${CLUSTER}-control-plane`).inspect();
    expect(controlPlane.HostConfig.PortBindings).toEqual({
      "80/tcp": [{ HostIp: "127.0.0.1", HostPort: String(HTTP) }],
      "443/tcp": [{ HostIp: "127.0.0.1", HostPort: String(HTTPS) }],
    });
    expect((await docker.getContainer(`${CLUSTER}-worker`).inspect()).HostConfig.PortBindings).toEqual({});
    // Published for real: the port is taken now, by the node.
    await expect(listen(HTTP, "127.0.0.1")).rejects.toMatchObject({ code: "EADDRINUSE" });

    // The cluster's own ports are no conflict, for up and for the doctor.
    expect((await up({ config })).changes).toEqual([]);
    const diagnosis = await doctor({ config });
    expect(diagnosis.findings.filter((f) => f.id.startsWith("ports"))).toEqual([
      { id: "ports", severity: "ok", what: "every configured port is free or held by its own container" },
    ]);
  });

  it("the fake kind answers like kind: get kubeconfig --internal, unknown flags, strict config decoding", async () => {
    const internal = await kindCli(["get", "kubeconfig", "--name", CLUSTER, "--internal"]);
    expect(internal.code).toBe(0);
    expect(parse(internal.stdout)).toMatchObject({
      clusters: [{ name: `kind-${CLUSTER}`, cluster: { server: `https://${CLUSTER}-control-plane:6443` } }],
      "current-context": `kind-${CLUSTER}`,
    });
    expect(await kindCli(["get", "kubeconfig", "--name", CLUSTER, "--x"])).toEqual({
      code: 1,
      stdout: "",
      stderr: "ERROR: unknown flag: --x\n",
    });

    const file = join(stateDir, "bad-kind.yaml");
    await writeFile(
      file,
      "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n- role: control-plane\n  extraPortMappings:\n  - containerPort: 80\n    hostPort: 80\n    listenAdress: 127.0.0.1\nbogus: true\n",
    );
    const bad = await kindCli(["create", "cluster", "--name", "dlt-ports-bad", "--config", file]);
    expect(bad).toEqual({
      code: 1,
      stdout: "",
      stderr:
        "ERROR: failed to create cluster: unable to decode config: yaml: unmarshal errors:\n" +
        "  line 8: field listenAdress not found in type v1alpha4.PortMapping\n" +
        "  line 9: field bogus not found in type v1alpha4.Cluster\n",
    });
    expect(await exists("container", "dlt-ports-bad-control-plane")).toBe(false);
  });
});
