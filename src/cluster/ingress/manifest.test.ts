import { createServer, type Server } from "node:http";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parseConfig } from "../../config/index.js";
import { EnvironmentError, OperationError, UserError } from "../../errors.js";
import {
  INGRESS_NGINX,
  loadManifest,
  manifestClasses,
  manifestSource,
  parseManifest,
  pinToIngressNode,
  sha256Hex,
  type ManifestObject,
} from "./manifest.js";

const DOC = `apiVersion: v1
kind: Namespace
metadata:
  name: ingress-nginx
---
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: nginx
spec:
  controller: k8s.io/ingress-nginx
`;

let server: Server;
let base = "";
let body = DOC;
let hits = 0;
let dir = "";

/** The network between: every request goes to the local server, whatever host the URL names. */
const viaLocal: typeof fetch = (input, init) => {
  const url = new URL(typeof input === "string" ? input : input instanceof URL ? input.href : input.url);
  return fetch(`${base}${url.pathname}`, init);
};

beforeAll(async () => {
  server = createServer((_req, res) => {
    hits++;
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(async () => {
  hits = 0;
  body = DOC;
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = await mkdtemp(join(tmpdir(), "dlt-manifest-"));
});

describe("the ingress manifest", () => {
  it("defaults to ingress-nginx's kind manifest at the pinned release, checked against its pinned sha256", () => {
    const source = manifestSource(parseConfig({}));
    expect(source).toEqual({ location: INGRESS_NGINX.url, url: true, sha256: INGRESS_NGINX.sha256 });
    expect(INGRESS_NGINX.url).toBe(
      `https://raw.githubusercontent.com/kubernetes/ingress-nginx/${INGRESS_NGINX.release}/deploy/static/provider/kind/deploy.yaml`,
    );
    expect(INGRESS_NGINX.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it("the pinned download whose bytes differ is refused, naming both digests, and nothing is cached", async () => {
    const err = await loadManifest(manifestSource(parseConfig({})), { cache: dir, fetch: viaLocal }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OperationError);
    expect((err as Error).message).toBe(
      `ingress manifest ${INGRESS_NGINX.url}: its sha256 is ${sha256Hex(DOC)}, expected ${INGRESS_NGINX.sha256}`,
    );
    expect(await readdir(join(dir, "manifests")).catch(() => [])).toEqual([]);
  });

  it("a URL is downloaded once and cached; a cached copy without the pinned digest is fetched again", async () => {
    const source = { location: `${base}/deploy.yaml`, url: true, sha256: sha256Hex(DOC) };
    const first = await loadManifest(source, { cache: dir });
    expect(first).toMatchObject({ from: "download", digest: sha256Hex(DOC) });
    expect(first.objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(["Namespace/ingress-nginx", "IngressClass/nginx"]);
    expect(await loadManifest(source, { cache: dir })).toMatchObject({ from: "cache" });
    expect(hits).toBe(1);
    const [file] = await readdir(join(dir, "manifests"));
    await writeFile(join(dir, "manifests", file ?? ""), "tampered");
    expect(await loadManifest(source, { cache: dir })).toMatchObject({ from: "download" });
    expect(hits).toBe(2);
    expect(await readFile(join(dir, "manifests", file ?? ""), "utf8")).toBe(DOC);
  });

  it("offline: the error says how to use a local file, with the pinned digest", async () => {
    const source = manifestSource(parseConfig({}));
    const err = await loadManifest(source, { cache: dir, fetch: () => fetch("http://127.0.0.1:1/") }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EnvironmentError);
    expect((err as EnvironmentError).hint).toContain(
      `set cluster.ingress.manifest: ./ingress-nginx-kind.yaml and cluster.ingress.sha256: ${INGRESS_NGINX.sha256} in dify-local.yaml`,
    );
  });

  it("a file is read relative to the config's folder, checked only against a configured sha256", async () => {
    await mkdir(join(dir, "conf"));
    await writeFile(join(dir, "conf", "ingress.yaml"), DOC);
    const config = parseConfig({ cluster: { ingress: { manifest: "ingress.yaml" } } });
    const source = manifestSource(config, join(dir, "conf"));
    expect(source).toEqual({ location: join(dir, "conf", "ingress.yaml"), url: false, sha256: undefined });
    expect(await loadManifest(source, { cache: dir })).toMatchObject({ from: "file", digest: sha256Hex(DOC) });
    const pinned = { ...source, sha256: "f".repeat(64) };
    await expect(loadManifest(pinned, { cache: dir })).rejects.toThrow(`its sha256 is ${sha256Hex(DOC)}, expected ${"f".repeat(64)}`);
    const missing = await loadManifest({ ...source, location: join(dir, "nope.yaml") }, { cache: dir }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(UserError);
    expect((missing as UserError).key).toBe("cluster.ingress.manifest");
  });

  it("parses every document; refuses YAML errors and documents that are not objects", () => {
    expect(manifestClasses(parseManifest(DOC, "x"))).toEqual(["nginx"]);
    expect(() => parseManifest("a: [", "x")).toThrow("ingress manifest x, document 1: ");
    expect(() => parseManifest("kind: Namespace\n---\n", "x")).toThrow("document 1: not a Kubernetes object");
    expect(() => parseManifest("---\n", "x")).toThrow("holds no Kubernetes object");
  });

  it("pins workloads whose pods take host ports to the ingress-ready node, and nothing else", () => {
    const deployment = (ports: object[]): ManifestObject => ({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "c", namespace: "n" },
      spec: { template: { spec: { nodeSelector: { "kubernetes.io/os": "linux" }, containers: [{ name: "c", ports }] } } },
    });
    const [pinned, other] = pinToIngressNode([deployment([{ containerPort: 80, hostPort: 80 }]), deployment([{ containerPort: 8443 }])]);
    expect((pinned?.spec as { template: { spec: { nodeSelector: object } } }).template.spec.nodeSelector).toEqual({
      "kubernetes.io/os": "linux",
      "ingress-ready": "true",
    });
    expect(other).toEqual(deployment([{ containerPort: 8443 }]));
  });

  it("the config: controller nginx or none, a URL or a path, a sha256 and a class name", () => {
    expect(parseConfig({}).cluster.ingress).toEqual({ controller: "nginx", className: "nginx" });
    expect(() => parseConfig({ cluster: { ingress: { controller: "traefik" } } })).toThrow("cluster.ingress.controller");
    expect(() => parseConfig({ cluster: { ingress: { manifest: "ftp://x/y.yaml" } } })).toThrow("cluster.ingress.manifest");
    expect(() => parseConfig({ cluster: { ingress: { sha256: "abc" } } })).toThrow("cluster.ingress.sha256");
    expect(() => parseConfig({ cluster: { ingress: { className: "Nginx" } } })).toThrow("cluster.ingress.className");
  });
});
