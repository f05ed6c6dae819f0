/**
 * The kind cluster and registry wiring, tested at its boundaries (kind and a Kubernetes API server
 * cannot run here):
 * - a FAKE `kind` executable (test/support/fake-kind) on PATH makes node containers with kind's
 *   names, labels, network and port mappings on the REAL engine; the node-level work (hosts.toml
 *   written by exec, /etc/hosts, network connect, the registry and the host services reached from
 *   inside a node over the kind network's gateway) runs for real against those containers, and a
 *   REAL containerd in every node pulls from the registry through the hosts.toml files;
 * - a TEST DOUBLE of the Kubernetes API (test/support/kube-api-double.ts) answers the real
 *   @kubernetes/client-node: nodes' Ready conditions (late, or never), ConfigMaps with
 *   resourceVersions and 409 Conflicts, the CoreDNS rollout restart by PATCH, progressing by phases.
 * Host services are the fixtures (real PostgreSQL, Redis, registry; MinIO and Qdrant stand-ins).
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Kind, KubeApi } from "../../src/cluster/index.js";
import { doctor, down, EnvironmentError, OperationError, RecordingSink, registryList, up, verify } from "../../src/index.js";
import { execIn } from "../support/fake-cluster.js";
import { buildTinyImage, pushImage, removeImage } from "../support/images.js";
import { KIND_DEFAULT_COREFILE, KubeApiDouble } from "../support/kube-api-double.js";
import { cleanup, docker, exists, namesOf, testConfig } from "../support/stack.js";

const BASE = 21500;
const CLUSTER = "dlt-cluster";
const NODES = [`${CLUSTER}-control-plane`, `${CLUSTER}-worker`];
const clusterSection = { enabled: true, name: CLUSTER, workers: 1, httpPort: BASE + 80, httpsPort: BASE + 81, readyTimeout: 20 };
const config = testConfig("cluster", BASE, { cluster: clusterSection });
const { containers, volumes } = namesOf(config);
const PUSHED = `localhost:${BASE}/dlt-cluster/plugin:0.1`;
const savedEnv = {
  PATH: process.env.PATH,
  FAKE_KIND_API_SERVER: process.env.FAKE_KIND_API_SERVER,
  FAKE_KIND_STATE_DIR: process.env.FAKE_KIND_STATE_DIR,
  FAKE_KIND_VERSION: process.env.FAKE_KIND_VERSION,
};
let api: KubeApiDouble;
let stateDir: string;

async function removeNodes(): Promise<void> {
  const nodes = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`io.x-k8s.kind.cluster=${CLUSTER}`] }) });
  await Promise.all(
    nodes.map((n) =>
      docker
        .getContainer(n.Id)
        .remove({ force: true })
        .catch(() => undefined),
    ),
  );
}

async function fileIn(container: string, path: string): Promise<string> {
  return (await execIn(container, ["cat", path])).output;
}

/** containerd's own pull path, as the CRI plugin resolves registries: hosts.toml from certs.d. */
function ctrFetch(node: string, ref: string): Promise<{ code: number | null; output: string }> {
  return execIn(node, ["ctr", "-n", "k8s.io", "content", "fetch", "--hosts-dir", "/etc/containerd/certs.d", ref]);
}

function corednsConfigMap(): { metadata: { resourceVersion: string }; data: { Corefile: string } } {
  return api.configMaps.get("kube-system/coredns") as { metadata: { resourceVersion: string }; data: { Corefile: string } };
}

/** Exec events on the engine while `work` runs; a marker exec on a non-node container ends the window. */
async function execEventsDuring(work: () => Promise<unknown>): Promise<Array<{ container: string; action: string }>> {
  const stream = (await docker.getEvents({ filters: JSON.stringify({ type: ["container"] }) })) as NodeJS.ReadableStream & {
    destroy(): void;
  };
  const seen: Array<{ container: string; action: string }> = [];
  let marker: () => void = () => undefined;
  const markerSeen = new Promise<void>((r) => (marker = r));
  let buffer = "";
  stream.on("data", (chunk: Buffer) => {
    buffer += chunk.toString();
    let nl: number;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const e = JSON.parse(buffer.slice(0, nl)) as { Action: string; Actor: { Attributes: { name: string } } };
      buffer = buffer.slice(nl + 1);
      if (!e.Action.startsWith("exec_create")) continue;
      if (e.Action.includes("dify-local-test-marker")) marker();
      else seen.push({ container: e.Actor.Attributes.name, action: e.Action });
    }
  });
  await work();
  await docker.getContainer(config.registry!.container!).exec({ Cmd: ["true", "dify-local-test-marker"] });
  await markerSeen;
  stream.destroy();
  return seen;
}

describe.skipIf(!inject("engine"))("the kind cluster (fake kind, Kubernetes API double, real engine)", () => {
  beforeAll(async () => {
    await cleanup(config);
    await removeNodes();
    stateDir = await mkdtemp(join(tmpdir(), "dlt-fake-kind-"));
    api = new KubeApiDouble(CLUSTER);
    process.env.FAKE_KIND_API_SERVER = await api.start();
    process.env.FAKE_KIND_STATE_DIR = stateDir;
    process.env.PATH = `${resolve("test/support/fake-kind")}:${savedEnv.PATH ?? ""}`;
  });
  afterAll(async () => {
    await removeNodes();
    await cleanup(config);
    await removeImage(PUSHED);
    await api.stop();
    for (const [k, v] of Object.entries(savedEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await rm(stateDir, { recursive: true, force: true });
  });

  it("kind missing or too old: exit 3 with the install hint and the minimum version, nothing created", async () => {
    process.env.FAKE_KIND_VERSION = "0.17.0";
    const old = await up({ config }).catch((e: unknown) => e);
    delete process.env.FAKE_KIND_VERSION;
    expect(old).toBeInstanceOf(EnvironmentError);
    expect((old as EnvironmentError).message).toContain("kind 0.17.0 is too old: dify-local needs kind 0.20.0 or newer");

    const path = process.env.PATH;
    process.env.PATH = "/nonexistent";
    const missing = await up({ config }).catch((e: unknown) => e);
    process.env.PATH = path;
    expect(missing).toBeInstanceOf(EnvironmentError);
    expect((missing as EnvironmentError).hint).toContain("--no-cluster");
    for (const c of containers) expect(await exists("container", c)).toBe(false);
  });

  it("up creates the cluster from the generated config and wires every node to the registry", async () => {
    expect((await up({ config, dryRun: true })).cluster).toEqual({ name: CLUSTER, action: "create" });
    const sink = new RecordingSink();
    const result = await up({ config, sink });
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);

    // The config kind was given.
    const given = parse(await readFile(join(stateDir, `${CLUSTER}.config.yaml`), "utf8")) as {
      apiVersion: string;
      nodes: Array<{
        role: string;
        labels?: Record<string, string>;
        extraPortMappings?: Array<{ containerPort: number; hostPort: number; listenAddress?: string }>;
      }>;
      containerdConfigPatches: string[];
    };
    expect(given.apiVersion).toBe("kind.x-k8s.io/v1alpha4");
    expect(given.nodes.map((n) => n.role)).toEqual(["control-plane", "worker"]);
    expect(given.nodes[0]?.labels).toEqual({ "ingress-ready": "true" });
    expect(given.nodes[0]?.extraPortMappings?.map((p) => [p.containerPort, p.hostPort, p.listenAddress])).toEqual([
      [80, BASE + 80, "127.0.0.1"],
      [443, BASE + 81, "127.0.0.1"],
    ]);
    // Published as kind does, on the listen address (the config's bind), by the control plane.
    const controlPlane = await docker.getContainer(`${CLUSTER}-control-plane`).inspect();
    expect(controlPlane.HostConfig.PortBindings).toEqual({
      "80/tcp": [{ HostIp: "127.0.0.1", HostPort: String(BASE + 80) }],
      "443/tcp": [{ HostIp: "127.0.0.1", HostPort: String(BASE + 81) }],
    });
    expect(given.containerdConfigPatches.join()).toContain('config_path = "/etc/containerd/certs.d"');

    // hosts.toml with the seed's content, for both registry names, on every node.
    const gateway = ((await docker.getNetwork("kind").inspect()) as { IPAM: { Config: Array<{ Gateway?: string }> } }).IPAM.Config.map(
      (c) => c.Gateway,
    ).find((g) => g?.includes("."));
    for (const node of NODES) {
      const toml = await fileIn(node, `/etc/containerd/certs.d/host.docker.internal:${BASE}/hosts.toml`);
      expect(toml).toBe(
        `server = "http://host.docker.internal:${BASE}"\n\n[host."http://host.docker.internal:${BASE}"]\n  capabilities = ["pull", "resolve", "push"]\n  skip_verify = true\n`,
      );
      expect(await fileIn(node, `/etc/containerd/certs.d/localhost:${BASE}/hosts.toml`)).toBe(toml);
      // Native Linux engine: the alias points at the kind network's gateway.
      expect(await fileIn(node, "/etc/hosts")).toMatch(new RegExp(`^${gateway?.replace(/\./g, "\\.")}\\thost\\.docker\\.internal$`, "m"));
    }
    // The registry joined the kind network; host ports are published on the gateway too.
    const registry = await docker.getContainer(config.registry!.container!).inspect();
    expect(Object.keys(registry.NetworkSettings.Networks)).toContain("kind");
    expect(registry.HostConfig.PortBindings?.["5000/tcp"]).toEqual(
      expect.arrayContaining([
        { HostIp: "127.0.0.1", HostPort: String(BASE) },
        { HostIp: gateway, HostPort: String(BASE) },
      ]),
    );

    // Through the API double: the KEP-1755 ConfigMap, CoreDNS's hosts entry and one rollout.
    const hosting = api.configMaps.get("kube-public/local-registry-hosting") as { data: Record<string, string> };
    expect(parse(hosting.data["localRegistryHosting.v1"] ?? "")).toMatchObject({
      host: `localhost:${BASE}`,
      hostFromContainerRuntime: `host.docker.internal:${BASE}`,
      hostFromClusterNetwork: `host.docker.internal:${BASE}`,
    });
    const corefile = (api.configMaps.get("kube-system/coredns") as { data: { Corefile: string } }).data.Corefile;
    expect(corefile).toContain(`hosts {\n        ${gateway} host.docker.internal\n        fallthrough\n    }`);
    expect(api.rollouts.get("kube-system/coredns")).toBe(1);
    // The restart is kubectl's: a strategic merge patch of the template annotation (no replace),
    // and up returned only after the rollout went through its phases to available.
    const deploymentCalls = api.requests.filter((r) => r.path === "/apis/apps/v1/namespaces/kube-system/deployments/coredns");
    expect(deploymentCalls.filter((r) => r.method !== "GET")).toEqual([
      {
        method: "PATCH",
        path: "/apis/apps/v1/namespaces/kube-system/deployments/coredns",
        status: 200,
        contentType: "application/strategic-merge-patch+json",
      },
    ]);
    expect(deploymentCalls.filter((r) => r.method === "GET").length).toBeGreaterThanOrEqual(4);
    const coredns = api.deployments.get("kube-system/coredns") as {
      metadata: { generation: number };
      spec: { template: { metadata: { annotations: Record<string, string> } } };
      status: Record<string, number>;
    };
    expect(coredns.spec.template.metadata.annotations["kubectl.kubernetes.io/restartedAt"]).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(coredns.status).toEqual({ observedGeneration: 2, replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 });

    // The seed's verifications, from inside each node, for real over the kind network.
    const ids = result.checks.map((c) => c.id);
    for (const node of NODES) {
      expect(ids).toEqual(
        expect.arrayContaining([
          `cluster.hosts-toml.${node}`,
          `cluster.host-alias.${node}`,
          `cluster.registry.${node}`,
          `cluster.host-ports.${node}`,
        ]),
      );
    }
    expect(result.checks.find((c) => c.id === "cluster.nodes")).toMatchObject({ ok: true, detail: "2 nodes" });
    expect(sink.events.find((e) => e.step === "cluster create" && e.status === "ok")?.detail).toBe(`created ${CLUSTER}`);
  });

  it("a second up changes nothing and makes no write into nodes whose files are already right", async () => {
    const before = await Promise.all(NODES.map((n) => docker.getContainer(n).inspect()));
    let result: Awaited<ReturnType<typeof up>> | undefined;
    const execs = await execEventsDuring(async () => {
      result = await up({ config });
    });
    expect(result?.ok).toBe(true);
    expect(result?.changes).toEqual([]);
    expect(api.rollouts.get("kube-system/coredns")).toBe(1);
    const dry = await up({ config, dryRun: true });
    expect(dry.cluster).toEqual({ name: CLUSTER, action: "keep" });
    expect(dry.plan.items.every((i) => i.action === "keep")).toBe(true);
    const intoNodes = execs.filter((e) => NODES.includes(e.container));
    // The only execs into nodes read: verify's probes (curl and /dev/tcp), one per node, and
    // containerd's own report of its config (up's preflight and step, and verify).
    const probes = intoNodes.filter((e) => e.action.includes("getent hosts host.docker.internal"));
    expect(intoNodes.filter((e) => !probes.includes(e) && !e.action.endsWith("containerd config dump"))).toEqual([]);
    expect(probes).toHaveLength(NODES.length);
    const after = await Promise.all(NODES.map((n) => docker.getContainer(n).inspect()));
    expect(after.map((n) => [n.Id, n.State.StartedAt])).toEqual(before.map((n) => [n.Id, n.State.StartedAt]));
  });

  it("a node added later gets the same wiring on the next up", async () => {
    const extra = `${CLUSTER}-worker2`;
    const node = await docker.createContainer({
      name: extra,
      Image: "dify-local-fixture/kind-node:latest",
      Labels: { "io.x-k8s.kind.cluster": CLUSTER, "io.x-k8s.kind.role": "worker" },
      HostConfig: { NetworkMode: "kind" },
    });
    await node.start();
    const more = testConfig("cluster", BASE, { cluster: { ...clusterSection, workers: 2 } });
    const result = await up({ config: more });
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);
    expect(result.changes.every((c) => c.startsWith(`${extra}:`))).toBe(true);
    expect(await fileIn(extra, `/etc/containerd/certs.d/host.docker.internal:${BASE}/hosts.toml`)).toContain(
      `server = "http://host.docker.internal:${BASE}"`,
    );
    await node.remove({ force: true });
  });

  it("a node that stays NotReady: the timeout names it", async () => {
    api.notReady.add(`${CLUSTER}-worker`);
    const err = await up({ config: testConfig("cluster", BASE, { cluster: { ...clusterSection, readyTimeout: 1 } }) }).catch(
      (e: unknown) => e,
    );
    api.notReady.clear();
    expect(err).toBeInstanceOf(OperationError);
    expect((err as Error).message).toContain(`cluster nodes not Ready after 1s (not Ready: ${CLUSTER}-worker)`);
  });

  it("registry ls lists what was pushed, and verify notices a broken hosts.toml", async () => {
    await buildTinyImage(PUSHED, "plugin");
    await pushImage(PUSHED);
    const listed = await registryList({ config });
    expect(listed.repositories).toContainEqual({ name: "dlt-cluster/plugin", tags: ["0.1"] });

    expect((await execIn(`${CLUSTER}-worker`, ["rm", `/etc/containerd/certs.d/host.docker.internal:${BASE}/hosts.toml`])).code).toBe(0);
    const checked = await verify({ config });
    expect(checked.ok).toBe(false);
    expect(checked.checks.find((c) => c.id === `cluster.hosts-toml.${CLUSTER}-worker`)).toMatchObject({ ok: false, detail: "missing" });
    // The doctor reports the same, with the fix; it also sees the nodes and the registry.
    const diagnosis = await doctor({ config });
    expect(diagnosis.findings.find((f) => f.id === `cluster.hosts-toml.${CLUSTER}-worker`)).toMatchObject({
      severity: "error",
      fix: "run `dify-local up` to rewrite it",
    });
    expect(diagnosis.findings.find((f) => f.id === "cluster.nodes")?.severity).toBe("ok");
    expect(diagnosis.findings.find((f) => f.id === `cluster.registry.${CLUSTER}-control-plane`)?.severity).toBe("ok");
    expect(diagnosis.findings.find((f) => f.id === `cluster.host-alias.${CLUSTER}-worker`)?.severity).toBe("ok");
    expect((await up({ config })).changes).toEqual([
      `${CLUSTER}-worker: wrote /etc/containerd/certs.d/host.docker.internal:${BASE}/hosts.toml`,
    ]);
  });

  it("containerd in every node pulls from the registry over HTTP through the hosts.toml files up wrote", async () => {
    const refs = [`host.docker.internal:${BASE}/dlt-cluster/plugin:0.1`, `localhost:${BASE}/dlt-cluster/plugin:0.1`];
    for (const node of NODES) {
      for (const ref of refs) {
        const fetched = await ctrFetch(node, ref);
        expect(fetched, `${node}: ${ref}`).toMatchObject({ code: 0 });
      }
      const images = (await execIn(node, ["ctr", "-n", "k8s.io", "images", "ls", "-q"])).output.split("\n");
      expect(images).toEqual(expect.arrayContaining(refs));
    }
    // Without the file, containerd speaks HTTPS to the plain-HTTP registry and is refused.
    const worker = `${CLUSTER}-worker`;
    expect((await execIn(worker, ["rm", "-r", `/etc/containerd/certs.d/host.docker.internal:${BASE}`])).code).toBe(0);
    const refused = await ctrFetch(worker, refs[0] ?? "");
    expect(refused.code).not.toBe(0);
    expect(refused.output).toContain("server gave HTTP response to HTTPS client");
    // up puts it back, and the pull works again.
    expect((await up({ config })).changes).toEqual([`${worker}: wrote /etc/containerd/certs.d/host.docker.internal:${BASE}/hosts.toml`]);
    expect(await ctrFetch(worker, refs[0] ?? "")).toMatchObject({ code: 0 });
  });

  it("CoreDNS's ConfigMap written by someone else between up's read and write: 409, read again, both edits kept", async () => {
    // As if CoreDNS's ConfigMap had been reset to kind's; another writer gets in after up reads it.
    corednsConfigMap().data.Corefile = KIND_DEFAULT_COREFILE;
    api.conflictOnce("configmaps", "kube-system/coredns", (cm) => {
      const data = cm.data as { Corefile: string };
      data.Corefile = data.Corefile.replace("    cache 30\n", "    cache 30\n    # another writer\n");
    });
    const before = api.requests.length;
    const result = await up({ config });
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);
    const calls = api.requests.slice(before).filter((r) => r.path === "/api/v1/namespaces/kube-system/configmaps/coredns");
    expect(calls.slice(0, 4).map((r) => `${r.method} ${r.status}`)).toEqual(["GET 200", "PUT 409", "GET 200", "PUT 200"]);
    const corefile = corednsConfigMap().data.Corefile;
    expect(corefile).toContain("    # another writer\n");
    expect(corefile).toMatch(/hosts \{\n\s+\S+ host\.docker\.internal\n/);
    expect(api.rollouts.get("kube-system/coredns")).toBe(2);
  });

  it("a ConfigMap that changes on every read: the update gives up after 5 conflicts and names it", async () => {
    const kube = await KubeApi.open(await new Kind().kubeconfig(CLUSTER), `kind-${CLUSTER}`);
    expect(await kube.applyConfigMap("kube-public", "dlt-flapping", { n: "0" })).toBe(true);
    let flapping = true;
    const flap = (cm: { [key: string]: unknown }) => {
      const data = cm.data as { n: string };
      data.n = String(Number(data.n) + 1);
      if (flapping) api.conflictOnce("configmaps", "kube-public/dlt-flapping", flap);
    };
    api.conflictOnce("configmaps", "kube-public/dlt-flapping", flap);
    const before = api.requests.length;
    const err = await kube
      .applyConfigMap("kube-public", "dlt-flapping", (current) => ({ ...current, mine: "yes" }))
      .catch((e: unknown) => e);
    flapping = false;
    expect(err).toBeInstanceOf(OperationError);
    expect((err as Error).message).toBe(
      "ConfigMap kube-public/dlt-flapping kept changing while dify-local updated it (409 Conflict 5 times)",
    );
    expect(
      api.requests
        .slice(before)
        .filter((r) => r.method === "PUT")
        .map((r) => r.status),
    ).toEqual([409, 409, 409, 409, 409]);
  });

  it("nodes that turn Ready after a few polls, or register late: up waits for them", async () => {
    api.readyAfterPolls.set(`${CLUSTER}-worker`, 3);
    api.registersAfterPolls.set(`${CLUSTER}-control-plane`, 2);
    const before = api.requests.length;
    const result = await up({ config });
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);
    expect(result.checks.find((c) => c.id === "cluster.nodes")).toMatchObject({ ok: true, detail: "2 nodes" });
    // Both were held back for as long as asked: four lists while waiting, then verify's.
    expect(api.readyAfterPolls.get(`${CLUSTER}-worker`)).toBe(0);
    expect(api.registersAfterPolls.get(`${CLUSTER}-control-plane`)).toBe(0);
    expect(api.requests.slice(before).filter((r) => r.path === "/api/v1/nodes").length).toBeGreaterThanOrEqual(5);
  });

  it("a node that never registers: the timeout says how many are missing", async () => {
    api.registersAfterPolls.set(`${CLUSTER}-worker`, Infinity);
    const err = await up({ config: testConfig("cluster", BASE, { cluster: { ...clusterSection, readyTimeout: 1 } }) }).catch(
      (e: unknown) => e,
    );
    api.registersAfterPolls.clear();
    expect(err).toBeInstanceOf(OperationError);
    expect((err as Error).message).toBe("cluster nodes not Ready after 1s (1 of 2 nodes not registered yet)");
  });

  it("a CoreDNS rollout that never progresses: the timeout says what it lacks", async () => {
    corednsConfigMap().data.Corefile = KIND_DEFAULT_COREFILE;
    api.rolloutStallsAt = "pending";
    const err = await up({ config: testConfig("cluster", BASE, { cluster: { ...clusterSection, readyTimeout: 1 } }) }).catch(
      (e: unknown) => e,
    );
    api.rolloutStallsAt = undefined;
    expect(err).toBeInstanceOf(OperationError);
    expect((err as Error).message).toMatch(
      /^rollout of kube-system\/coredns did not finish within 1s \(generation (\d+) not observed yet \(at \d+\)\)$/,
    );
    // Once the controller moves again, the next up finds CoreDNS wired and changes nothing there.
    expect((await up({ config })).changes).toEqual([]);
  });

  it("down --keep-cluster keeps the nodes; down deletes the cluster; volumes stay", async () => {
    await down({ config, keepCluster: true });
    for (const n of NODES) expect(await exists("container", n)).toBe(true);
    const result = await down({ config });
    expect(result.clusterDeleted).toBe(CLUSTER);
    for (const n of NODES) expect(await exists("container", n)).toBe(false);
    for (const v of volumes) expect(await exists("volume", v)).toBe(true);
    expect(await readFile(join(stateDir, "calls.log"), "utf8")).toContain(`delete cluster --name ${CLUSTER}`);
    // A kind network dify-local created goes with the cluster; one made by someone else stays.
    const network = (await docker
      .getNetwork("kind")
      .inspect()
      .catch(() => undefined)) as { Labels?: Record<string, string> } | undefined;
    expect(network?.Labels?.["dify-local.managed"]).toBeUndefined();
  });
});
