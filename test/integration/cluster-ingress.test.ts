/**
 * The ingress controller `up` installs (issue 10 §1). As in cluster.test.ts: the fake `kind` makes
 * real node containers with kind's port mappings, and the Kubernetes API double answers the real
 * @kubernetes/client-node; here it also serves discovery and server-side apply of every kind in
 * the manifest, completes the admission Jobs and makes the controller's Deployment available, and
 * starts the controller's stand-in (Debian's nginx in the node, answering 404 like ingress-nginx's
 * default server) in the node the Deployment's nodeSelector picks. So "answered on the ingress
 * port" is a real HTTP answer through kind's mapping from a web server inside the control plane.
 * The manifest (shaped like ingress-nginx's kind manifest) is served by a local HTTP server.
 */
import { createServer, request, type Server } from "node:http";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { sha256Hex } from "../../src/cluster/index.js";
import { doctor, down, EnvironmentError, OperationError, RecordingSink, status, up, verify, type ConfigInput } from "../../src/index.js";
import { startFakeCluster, type FakeCluster } from "../support/fake-cluster.js";
import { cleanup, exists, testConfig } from "../support/stack.js";

const BASE = 30000;
const CLUSTER = "dlt-ingress";
const HTTP = BASE + 40;
const NODES = [`${CLUSTER}-control-plane`, `${CLUSTER}-worker`];
const CONTROLLER_IMAGE =
  "registry.k8s.io/ingress-nginx/controller:v1.15.1@sha256:594ceea76b01c592858f803f9ff4d2cb40542cae2060410b2c95f75907d659e1";
const UNPULLABLE = "registry.k8s.io/ingress-nginx/controller:v9.9.9-not-there";

let fake: FakeCluster;
let server: Server;
let served = "";
let manifest = "";
let cache = "";
const hits = new Map<string, number>();

function configWith(ingress: Record<string, unknown>, cluster: Record<string, unknown> = {}): ConfigInput {
  return testConfig("ingress", BASE, {
    postgres: { enabled: false },
    redis: { enabled: false },
    minio: { enabled: false },
    qdrant: { enabled: false },
    cluster: { enabled: true, name: CLUSTER, workers: 1, httpPort: HTTP, httpsPort: BASE + 41, readyTimeout: 20, ingress, ...cluster },
  });
}

const nginx = (extra: Record<string, unknown> = {}) =>
  configWith({ controller: "nginx", manifest: `${served}/deploy.yaml`, sha256: sha256Hex(manifest), ...extra });

/** One request as a browser sends it to http://console.dify.local once the hosts line is in. */
function ask(): Promise<{ status: number; server: string | undefined } | { error: string }> {
  return new Promise((done) => {
    const req = request({ host: "127.0.0.1", port: HTTP, path: "/", headers: { Host: "console.dify.local" }, timeout: 3000 }, (res) => {
      res.resume();
      const server = res.headers.server;
      done({ status: res.statusCode ?? 0, server: typeof server === "string" ? server : undefined });
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (err) => done({ error: err.message }));
    req.end();
  });
}

/** The server-side applies the double received since `from`. */
function applies(from: number) {
  return fake.api.requests.slice(from).filter((r) => r.method === "PATCH" && r.contentType === "application/apply-patch+yaml");
}

function appliedVersions(): Record<string, unknown> {
  return Object.fromEntries(
    [...fake.api.applied.objects].map(([path, o]) => [path, (o.metadata as { resourceVersion: string }).resourceVersion]),
  );
}

describe.skipIf(!inject("engine"))("the ingress controller (fake kind, API double with server-side apply, nginx in the node)", () => {
  beforeAll(async () => {
    manifest = await readFile(resolve("test/fixtures/ingress/ingress-nginx-kind.yaml"), "utf8");
    const broken = manifest.replace(CONTROLLER_IMAGE, UNPULLABLE);
    server = createServer((req, res) => {
      hits.set(req.url ?? "", (hits.get(req.url ?? "") ?? 0) + 1);
      const body = req.url === "/deploy.yaml" ? manifest : req.url === "/broken.yaml" ? broken : undefined;
      res.writeHead(body ? 200 : 404, { "content-type": "application/yaml" });
      res.end(body ?? "not found");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    served = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    cache = await mkdtemp(join(tmpdir(), "dlt-ingress-cache-"));
    process.env.DIFY_LOCAL_CACHE_DIR = cache;
    await cleanup(configWith({}));
    fake = await startFakeCluster(CLUSTER);
  });
  afterAll(async () => {
    await fake.removeNodes();
    await cleanup(configWith({}));
    await fake.stop();
    delete process.env.DIFY_LOCAL_CACHE_DIR;
    await new Promise<void>((r) => server.close(() => r()));
    await rm(cache, { recursive: true, force: true });
  });

  it("a manifest whose sha256 differs stops up before anything changes, naming both digests", async () => {
    const wrong = "0".repeat(64);
    const err = await up({ config: nginx({ sha256: wrong }) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OperationError);
    expect((err as Error).message).toBe(`ingress manifest ${served}/deploy.yaml: its sha256 is ${sha256Hex(manifest)}, expected ${wrong}`);
    expect((err as OperationError).hint).toContain("cluster.ingress.sha256");
    for (const n of NODES) expect(await exists("container", n)).toBe(false);
    expect(await readdir(join(cache, "manifests")).catch(() => [])).toEqual([]);
  });

  it("offline: a clear error that says how to point cluster.ingress.manifest at a local file", async () => {
    const err = await up({ config: nginx({ manifest: "http://127.0.0.1:1/deploy.yaml" }) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EnvironmentError);
    expect((err as Error).message).toContain("could not download the ingress manifest http://127.0.0.1:1/deploy.yaml: ");
    expect((err as EnvironmentError).hint).toMatch(
      /^no network\? download it where there is network .* set cluster\.ingress\.manifest: \.\/ingress-nginx-kind\.yaml/,
    );
    for (const n of NODES) expect(await exists("container", n)).toBe(false);
  });

  it("controller none: nothing is installed or checked, the port stays unanswered, and the doctor says so", async () => {
    const config = configWith({ controller: "none" });
    const sink = new RecordingSink();
    const from = fake.api.requests.length;
    const result = await up({ config, sink });
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);
    expect(result.checks.some((c) => c.id.startsWith("cluster.ingress."))).toBe(false);
    expect(sink.events.find((e) => e.step === "cluster ingress" && e.status === "ok")?.detail).toBe(
      "not managed (cluster.ingress.controller: none): bring your own controller for IngressClass nginx",
    );
    expect(applies(from)).toEqual([]);
    expect(await ask()).toHaveProperty("error");
    const findings = (await doctor({ config })).findings;
    expect(findings.find((f) => f.id === "ingress.class")).toMatchObject({ severity: "warning" });
  });

  it("installs the controller by server-side apply, waits for it, and it answers on the ingress port", async () => {
    const sink = new RecordingSink();
    const from = fake.api.requests.length;
    const downloads = hits.get("/deploy.yaml") ?? 0;
    const result = await up({ config: nginx(), sink });
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);
    expect(result.changes).toContain(`ingress: created 14 objects from ${served}/deploy.yaml`);
    expect(applies(from)).toHaveLength(14);
    // Every kind of the manifest, namespaced or not, through its group's discovery.
    expect([...fake.api.applied.objects.values()].map((o) => o.kind)).toEqual([
      "Namespace",
      "ServiceAccount",
      "ServiceAccount",
      "Role",
      "ClusterRole",
      "RoleBinding",
      "ClusterRoleBinding",
      "ConfigMap",
      "Service",
      "Deployment",
      "IngressClass",
      "ValidatingWebhookConfiguration",
    ]);
    const managers = [...fake.api.applied.objects.values()].map(
      (o) => (o.metadata as { managedFields: Array<{ manager: string }> }).managedFields[0]?.manager,
    );
    expect(new Set(managers)).toEqual(new Set(["dify-local"]));
    // Pinned to the node whose ports are mapped, where the stand-in runs.
    expect(fake.api.applied.standInNodes).toEqual([`${CLUSTER}-control-plane`]);
    expect(await ask()).toEqual({ status: 404, server: "nginx" });
    expect(result.checks.find((c) => c.id === "cluster.ingress.answers")).toMatchObject({ ok: true, detail: "HTTP 404 (nginx)" });
    expect(sink.events.find((e) => e.step === "preflight ingress" && e.status === "ok")?.detail).toMatch(
      /\(downloaded, sha256 [0-9a-f]{12} verified\)$/,
    );
    expect(sink.events.find((e) => e.step === "cluster ingress" && e.status === "ok")?.detail).toBe(
      `${served}/deploy.yaml: 14 created, 0 unchanged; controller ready; http://127.0.0.1:${HTTP}/ answers 404 (nginx)`,
    );
    expect(hits.get("/deploy.yaml")).toBe(downloads + 1);
  });

  it("a second up changes nothing: no download, no write, the finished Jobs not run again", async () => {
    const before = appliedVersions();
    const downloads = hits.get("/deploy.yaml");
    const sink = new RecordingSink();
    const result = await up({ config: nginx(), sink });
    expect(result.changes).toEqual([]);
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);
    expect(appliedVersions()).toEqual(before);
    expect(fake.api.applied.objects.size).toBe(12);
    expect(sink.events.find((e) => e.step === "cluster ingress" && e.status === "ok")?.detail).toMatch(
      /: 12 unchanged, 2 finished Jobs not run again; controller ready;/,
    );
    expect(sink.events.find((e) => e.step === "preflight ingress" && e.status === "ok")?.detail).toContain("(cached, sha256");
    expect(hits.get("/deploy.yaml")).toBe(downloads);

    const row = (await status({ config: nginx() })).services.find((s) => s.service === "ingress");
    expect(row).toMatchObject({ state: "installed", owner: "dify-local", health: "healthy", detail: "HTTP 404 (nginx)" });
    const values = join(cache, "values.yaml");
    await writeFile(values, "ingress:\n  enabled: true\n  className: traefik\n");
    const findings = (await doctor({ config: nginx(), valuesFile: values })).findings;
    expect(findings.find((f) => f.id === "values.ingress.className")).toMatchObject({
      severity: "error",
      what: `${values} sets ingress.className: traefik, but the cluster has IngressClass nginx`,
    });
    expect(findings.find((f) => f.id === "cluster.ingress.ready")?.severity).toBe("ok");
  });

  it("a controller someone else installed is detected and kept: nothing is applied", async () => {
    const record = fake.api.configMaps.get("kube-system/dify-local-ingress");
    fake.api.configMaps.delete("kube-system/dify-local-ingress");
    try {
      const sink = new RecordingSink();
      const from = fake.api.requests.length;
      const result = await up({ config: nginx({ manifest: "http://127.0.0.1:1/unreachable.yaml" }), sink });
      expect(result.changes).toEqual([]);
      expect(applies(from)).toEqual([]);
      expect(sink.events.find((e) => e.step === "cluster ingress" && e.status === "ok")?.detail).toBe(
        `kept the installed controller (IngressClass nginx, k8s.io/ingress-nginx; not installed by dify-local); http://127.0.0.1:${HTTP}/ answers 404 (nginx)`,
      );
      expect((await status({ config: nginx() })).services.find((s) => s.service === "ingress")).toMatchObject({ owner: "adopted" });
    } finally {
      if (record) fake.api.configMaps.set("kube-system/dify-local-ingress", record);
    }
  });

  it("a controller that cannot become ready: the timeout names the pod, its reason and the image; the next up converges", async () => {
    fake.api.applied.unpullable.add(UNPULLABLE);
    const broken = nginx({ manifest: `${served}/broken.yaml`, sha256: sha256Hex(manifest.replace(CONTROLLER_IMAGE, UNPULLABLE)) });
    const err = await up({ config: { ...broken, cluster: { ...(broken.cluster as object), readyTimeout: 3 } } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OperationError);
    expect((err as Error).message).toContain(
      `ingress controller not ready after 3s: Deployment ingress-nginx/ingress-nginx-controller: 0 of 1 updated replicas available; ` +
        `pod ingress-nginx/ingress-nginx-controller-7c9f4d8b5-x2x4q: ImagePullBackOff (image ${UNPULLABLE}): Back-off pulling image "${UNPULLABLE}"`,
    );
    expect((err as OperationError).hint).toContain("cluster.proxy");
    const failing = (await verify({ config: nginx() })).checks.find((c) => c.id === "cluster.ingress.ready");
    expect(failing).toMatchObject({ ok: false });
    expect(failing?.detail).toContain("ImagePullBackOff");
    const finding = (await doctor({ config: nginx() })).findings.find((f) => f.id === "cluster.ingress.ready");
    expect(finding).toMatchObject({ severity: "error" });
    expect(finding?.what).toContain(`ImagePullBackOff (image ${UNPULLABLE})`);
    expect(finding?.why).toContain("an image the nodes cannot pull");

    const result = await up({ config: nginx() });
    expect(result.changes).toEqual(["ingress: configured Deployment ingress-nginx/ingress-nginx-controller"]);
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);
  });

  it("down --keep-cluster leaves the controller installed and answering", async () => {
    const before = appliedVersions();
    const result = await down({ config: nginx(), keepCluster: true });
    expect(result).toMatchObject({ clusterDeleted: undefined });
    for (const n of NODES) expect(await exists("container", n)).toBe(true);
    expect(appliedVersions()).toEqual(before);
    expect(await ask()).toEqual({ status: 404, server: "nginx" });
    const again = await up({ config: nginx() });
    expect(again.changes.filter((c) => c.startsWith("ingress"))).toEqual([]);
    expect(again.checks.filter((c) => !c.ok)).toEqual([]);
  });
});
