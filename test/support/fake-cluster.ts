import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parse, stringify } from "smol-toml";
import { KubeApiDouble } from "./kube-api-double.js";
import type { ConfigInput } from "../../src/config/index.js";
import { docker, testConfig } from "./stack.js";

/** The fake `kind` executable's folder, put first on PATH while a test runs. */
export const FAKE_KIND = resolve("test/support/fake-kind");

/** A test's kind cluster: the fake `kind` on PATH, its state folder, and the Kubernetes API double it points kubeconfigs at. */
export interface FakeCluster {
  api: KubeApiDouble;
  /** Where the fake kind records the configs it was given and its calls. */
  stateDir: string;
  /** Removes the cluster's node containers (any state). */
  removeNodes(): Promise<void>;
  /** Stops the API double, restores PATH and the fake's variables, removes the state folder. */
  stop(): Promise<void>;
}

/** Removes every node container of the kind cluster `name`. */
export async function removeNodes(name: string): Promise<void> {
  const list = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`io.x-k8s.kind.cluster=${name}`] }) });
  await Promise.all(
    list.map((n) =>
      docker
        .getContainer(n.Id)
        .remove({ force: true, v: true })
        .catch(() => undefined),
    ),
  );
}

/**
 * Starts the API double for cluster `name` and points the fake kind at it (FAKE_KIND_API_SERVER,
 * FAKE_KIND_STATE_DIR, PATH), after removing any node of that name left from an earlier run.
 */
export async function startFakeCluster(name: string): Promise<FakeCluster> {
  const saved = {
    PATH: process.env.PATH,
    FAKE_KIND_API_SERVER: process.env.FAKE_KIND_API_SERVER,
    FAKE_KIND_STATE_DIR: process.env.FAKE_KIND_STATE_DIR,
    FAKE_KIND_NODE_CONTAINERD_CONFIG: process.env.FAKE_KIND_NODE_CONTAINERD_CONFIG,
  };
  await removeNodes(name);
  const stateDir = await mkdtemp(join(tmpdir(), `dlt-fake-kind-${name}-`));
  const api = new KubeApiDouble(name);
  process.env.FAKE_KIND_API_SERVER = await api.start();
  process.env.FAKE_KIND_STATE_DIR = stateDir;
  process.env.PATH = `${FAKE_KIND}:${saved.PATH ?? ""}`;
  return {
    api,
    stateDir,
    removeNodes: () => removeNodes(name),
    async stop() {
      await api.stop();
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}

/** Runs a command in a container: its exit code and its stdout and stderr together. */
export async function execIn(container: string, cmd: string[]): Promise<{ code: number | null; output: string }> {
  const exec = await docker.getContainer(container).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const chunks: Buffer[] = [];
  await new Promise<void>((r) => {
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => r());
  });
  // Strip the 8-byte frame headers of the multiplexed stream.
  const buf = Buffer.concat(chunks);
  let output = "";
  for (let i = 0; i + 8 <= buf.length;) {
    const size = buf.readUInt32BE(i + 4);
    output += buf.subarray(i + 8, i + 8 + size).toString();
    i += 8 + size;
  }
  return { code: (await exec.inspect()).ExitCode, output };
}

/**
 * From now on the fake kind's nodes get a node image from before kind v0.27: the fixture's
 * containerd config without the CRI registry config_path (FAKE_KIND_NODE_CONTAINERD_CONFIG; `stop`
 * restores it). Returns that config.
 */
export async function useNodeImageBeforeV027(fake: FakeCluster): Promise<string> {
  const image = parse(await readFile(resolve("test/fixtures/images/kind-node/config.toml"), "utf8")) as {
    plugins: Record<string, { registry?: unknown }>;
  };
  delete image.plugins["io.containerd.grpc.v1.cri"]?.registry;
  const config = stringify(image);
  const file = join(fake.stateDir, "node-before-v0.27.toml");
  await writeFile(file, config);
  process.env.FAKE_KIND_NODE_CONTAINERD_CONFIG = file;
  return config;
}

/** `kind create cluster` as the tutorial's init.sh runs it: a control plane and a worker, no containerdConfigPatches. */
export async function createClusterElsewhere(fake: FakeCluster, name: string): Promise<void> {
  const file = join(fake.stateDir, "init-sh-kind.yaml");
  await writeFile(file, "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n- role: control-plane\n- role: worker\n");
  const made = spawnSync(join(FAKE_KIND, "kind"), ["create", "cluster", "--name", name, "--config", file], { env: process.env });
  if (made.status !== 0) throw new Error(`kind create cluster failed: ${made.stderr.toString()}`);
}

/**
 * A test config with only the registry and a kind cluster `cluster` of one control plane and one
 * worker (ports after the registry's), for the tests about the cluster itself.
 */
export function registryAndClusterConfig(id: string, base: number, cluster: string): ConfigInput {
  return testConfig(id, base, {
    postgres: { enabled: false },
    redis: { enabled: false },
    minio: { enabled: false },
    qdrant: { enabled: false },
    cluster: { enabled: true, name: cluster, workers: 1, httpPort: base + 40, httpsPort: base + 41, readyTimeout: 20 },
  });
}
