/**
 * Clusters made elsewhere (issue 10 §3): a kind cluster with the configured name that dify-local
 * did not create is used as it is, but only when containerd in every node reads the hosts.toml
 * files in /etc/containerd/certs.d (its CRI registry `config_path`). Here the cluster is made the
 * way the tutorial's init.sh makes it (`kind create cluster`, no containerdConfigPatches) on a node
 * image from before kind v0.27, whose containerd config lacks the setting: the fake kind's
 * FAKE_KIND_NODE_CONTAINERD_CONFIG gives the nodes the fixture's config without it. containerd is
 * Debian's, real, and reports its config itself (`containerd config dump`); it cannot run the CRI
 * plugin here, so "pulls as the CRI plugin would make them" are `ctr content fetch` with the hosts
 * directory containerd's config names (none: plain HTTPS, refused by the plain-HTTP registry).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { doctor, down, EnvironmentError, OperationError, RecordingSink, status, up, verify } from "../../src/index.js";
import {
  createClusterElsewhere,
  execIn,
  registryAndClusterConfig,
  startFakeCluster,
  useNodeImageBeforeV027,
  type FakeCluster,
} from "../support/fake-cluster.js";
import { buildTinyImage, pushImage, removeImage } from "../support/images.js";
import { cleanup, docker, exists } from "../support/stack.js";

const BASE = 30500;
const CLUSTER = "dlt-ctrd";
const NODES = [`${CLUSTER}-control-plane`, `${CLUSTER}-worker`];
const CONFIG = "/etc/containerd/config.toml";
const BACKUP = "/etc/containerd/config.toml.before-dify-local";
const config = registryAndClusterConfig("ctrd", BASE, CLUSTER);
const REGISTRY = config.registry!.container!;
const PUSHED = `localhost:${BASE}/dlt-ctrd/plugin:0.1`;
const REF = `host.docker.internal:${BASE}/dlt-ctrd/plugin:0.1`;
let fake: FakeCluster;
let oldConfig: string;

/** What containerd in the node says its registry config_path is. */
async function configPath(node: string): Promise<string> {
  const dump = await execIn(node, ["containerd", "config", "dump"]);
  expect(dump.code).toBe(0);
  return /^\s*config_path = "(.*)"$/m.exec(dump.output)?.[1] ?? "(no CRI registry table)";
}

/** A pull as the CRI plugin makes it: through the hosts directory containerd's config names, if any. */
async function pullAsCri(node: string): Promise<{ code: number | null; output: string }> {
  const dir = await configPath(node);
  const hosts = dir ? ["--hosts-dir", dir] : [];
  return execIn(node, ["ctr", "-n", "k8s.io", "content", "fetch", ...hosts, REF]);
}

/** What a refusal must leave alone in a node: its containerd config, its process, its certs.d. */
async function nodeState(node: string): Promise<{ config: string; pid: string; certs: string; backup: number | null }> {
  return {
    config: (await execIn(node, ["cat", CONFIG])).output,
    pid: (await execIn(node, ["cat", "/run/containerd.service.pid"])).output.trim(),
    certs: (await execIn(node, ["find", "/etc/containerd/certs.d"])).output,
    backup: (await execIn(node, ["test", "-e", BACKUP])).code,
  };
}

describe.skipIf(!inject("engine"))("a cluster made elsewhere on an old node image (fake kind, API double, real containerd)", () => {
  beforeAll(async () => {
    await cleanup(config);
    fake = await startFakeCluster(CLUSTER);
    oldConfig = await useNodeImageBeforeV027(fake);
    await createClusterElsewhere(fake, CLUSTER);
  });
  afterAll(async () => {
    await fake.removeNodes();
    await cleanup(config);
    await removeImage(PUSHED);
    await fake.stop();
  });

  it("up stops before changing anything, naming each node, why, and --patch-containerd", async () => {
    for (const node of NODES) expect(await configPath(node)).toBe("");
    const before = await Promise.all(NODES.map(nodeState));

    const dry = await up({ config, dryRun: true });
    expect(dry.cluster).toEqual({ name: CLUSTER, action: "keep" });
    expect(dry.warnings.find((w) => w.startsWith("up would stop: "))).toContain("--patch-containerd");
    expect((await up({ config, dryRun: true, patchContainerd: true })).warnings).toContain(
      `up would add config_path to containerd's config in ${NODES.join(", ")} and restart containerd there, one node at a time`,
    );

    const err = await up({ config }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EnvironmentError);
    const { message, hint } = err as EnvironmentError;
    for (const node of NODES)
      expect(message).toContain(`${node} (config_path is not set in [plugins."io.containerd.grpc.v1.cri".registry])`);
    expect(message).toContain(`silently ignores them, so pulls from the local registry at host.docker.internal:${BASE} (plain HTTP) fail`);
    expect(message).toContain("Nothing was changed in the nodes");
    expect(hint).toMatch(/^run `dify-local up --patch-containerd`: it adds config_path = "\/etc\/containerd\/certs.d"/);
    expect(await Promise.all(NODES.map(nodeState))).toEqual(before);
    // Stopped in the preflight: not even the registry container was made.
    expect(await exists("container", REGISTRY)).toBe(false);
  });

  it("verify and doctor report the same, with why and the fix", async () => {
    const checked = await verify({ config });
    for (const node of NODES)
      expect(checked.checks.find((c) => c.id === `cluster.containerd.${node}`)).toMatchObject({
        ok: false,
        detail: 'config_path is not set in [plugins."io.containerd.grpc.v1.cri".registry]',
        fix: "`dify-local up --patch-containerd` adds it and restarts containerd one node at a time",
      });
    const diagnosis = await doctor({ config });
    const finding = diagnosis.findings.find((f) => f.id === `cluster.containerd.${NODES[1]}`);
    expect(finding).toMatchObject({
      severity: "error",
      fix: "`dify-local up --patch-containerd` adds it and restarts containerd one node at a time",
    });
    expect(finding?.why).toContain("otherwise it silently ignores them");
  });

  it("up --patch-containerd adds config_path, restarts containerd in each node, and pulls through hosts.toml work", async () => {
    const before = await Promise.all(NODES.map(nodeState));
    const ids = await Promise.all(NODES.map(async (n) => (await docker.getContainer(n).inspect()).Id));
    const sink = new RecordingSink();
    const result = await up({ config, patchContainerd: true, sink });
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);
    expect(result.changes).toEqual(
      expect.arrayContaining(NODES.map((n) => `${n}: containerd reads /etc/containerd/certs.d (config_path added, containerd restarted)`)),
    );
    // Used as it is: the same node containers, still someone else's.
    expect(sink.events.find((e) => e.step === "cluster create" && e.status === "ok")?.detail).toBe(
      `kept ${CLUSTER} (exists; not created by dify-local, so down leaves it alone)`,
    );
    expect(await Promise.all(NODES.map(async (n) => (await docker.getContainer(n).inspect()).Id))).toEqual(ids);
    expect((await readFile(join(fake.stateDir, "calls.log"), "utf8")).match(/^create cluster/gm)).toHaveLength(1);
    expect((await status({ config })).services.find((s) => s.service === "cluster")).toMatchObject({ owner: "adopted" });

    for (const [i, node] of NODES.entries()) {
      const now = await nodeState(node);
      expect(now.pid, `${node}: containerd restarted`).not.toBe(before[i]?.pid);
      expect(await configPath(node)).toBe("/etc/containerd/certs.d");
      expect((await execIn(node, ["cat", BACKUP])).output).toBe(oldConfig);
    }

    await buildTinyImage(PUSHED, "plugin");
    await pushImage(PUSHED);
    for (const node of NODES) expect(await pullAsCri(node), node).toMatchObject({ code: 0 });
  });

  it("a node not Ready again after its restart stops the patch before the next node; the next up patches the rest", async () => {
    const [controlPlane = "", worker = ""] = NODES;
    // Both configs as before the patch (containerd not restarted): the CRI plugin would read no hosts.toml.
    for (const node of NODES) expect((await execIn(node, ["cp", BACKUP, CONFIG])).code).toBe(0);
    const ignored = await pullAsCri(worker);
    expect(ignored.code).not.toBe(0);
    expect(ignored.output).toContain("server gave HTTP response to HTTPS client");

    // The control plane's kubelet never reports Ready once the patch begins.
    const before = await Promise.all(NODES.map(nodeState));
    const holdControlPlane = {
      emit: (e: { step: string; status: string }) => {
        if (e.step === "cluster containerd" && e.status === "start") fake.api.notReady.add(controlPlane);
      },
    };
    const short = { ...config, cluster: { ...config.cluster, readyTimeout: 2 } };
    const err = await up({ config: short, patchContainerd: true, sink: holdControlPlane }).catch((e: unknown) => e);
    fake.api.notReady.clear();
    expect(err).toBeInstanceOf(OperationError);
    expect((err as Error).message).toBe(
      `after containerd's restart in ${controlPlane}: cluster nodes not Ready after 2s (not Ready: ${controlPlane}); ${worker} was not patched`,
    );
    const [cp, w] = await Promise.all(NODES.map(nodeState));
    expect(cp?.pid).not.toBe(before[0]?.pid);
    expect(w).toEqual(before[1]);

    const patched = await up({ config, patchContainerd: true });
    expect(patched.changes).toEqual([`${worker}: containerd reads /etc/containerd/certs.d (config_path added, containerd restarted)`]);
    expect(await pullAsCri(worker)).toMatchObject({ code: 0 });

    const again = await up({ config });
    expect(again.ok).toBe(true);
    expect(again.changes).toEqual([]);
  });

  it("registry mirrors in a node's config: --patch-containerd refuses too (containerd would refuse both), changing nothing", async () => {
    const worker = NODES[1] ?? "";
    const mirrors = `${oldConfig}\n[plugins."io.containerd.grpc.v1.cri".registry.mirrors."docker.io"]\nendpoint = ["https://mirror.example"]\n`;
    expect((await execIn(worker, ["sh", "-c", `cat > ${CONFIG} <<'EOF'\n${mirrors}EOF`])).code).toBe(0);
    const before = await nodeState(worker);
    const err = await up({ config, patchContainerd: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EnvironmentError);
    expect((err as EnvironmentError).message).toContain(
      `${worker} (config_path is not set in [plugins."io.containerd.grpc.v1.cri".registry]; it sets mirrors (docker.io), which containerd refuses with config_path)`,
    );
    expect((err as EnvironmentError).hint).toMatch(
      /^move the node's registry mirrors \(docker\.io\) into hosts\.toml files under \/etc\/containerd\/certs\.d/,
    );
    expect(await nodeState(worker)).toEqual(before);
  });

  it("an imported file that overrides the CRI settings: the patched file is put back and containerd is not restarted", async () => {
    const worker = NODES[1] ?? "";
    const imported = 'version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "registry.k8s.io/pause:3.9"\n';
    const main = `imports = ["/etc/containerd/conf.d/cri.toml"]\n${oldConfig}`;
    const write = (path: string, text: string) =>
      execIn(worker, ["sh", "-c", `mkdir -p /etc/containerd/conf.d && cat > ${path} <<'EOF'\n${text}EOF`]);
    expect((await write("/etc/containerd/conf.d/cri.toml", imported)).code).toBe(0);
    expect((await write(CONFIG, main)).code).toBe(0);
    const before = await nodeState(worker);
    const err = await up({ config, patchContainerd: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OperationError);
    expect((err as OperationError).message).toBe(
      `added config_path to ${CONFIG} in node ${worker}, but containerd, reading it, still finds: config_path is not set in [plugins."io.containerd.grpc.v1.cri".registry]; the file was put back as it was and containerd was not restarted`,
    );
    expect((err as OperationError).hint).toContain(`docker exec ${worker} containerd config dump`);
    expect(await nodeState(worker)).toEqual(before);
  });

  it("a cluster dify-local creates on the same old node image reads certs.d through kind's containerdConfigPatches", async () => {
    await down({ config, deleteCluster: true });
    const result = await up({ config });
    expect(result.changes).toContain(`cluster ${CLUSTER}: created`);
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);
    for (const node of NODES) {
      expect(await configPath(node)).toBe("/etc/containerd/certs.d");
      // kind patched it when it made the node; dify-local had nothing to patch.
      expect((await nodeState(node)).backup).not.toBe(0);
      expect(await pullAsCri(node), node).toMatchObject({ code: 0 });
    }
  });
});
