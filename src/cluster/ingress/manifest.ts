import { createHash } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseAllDocuments } from "yaml";
import type { Config } from "../../config/index.js";
import { EnvironmentError, OperationError, UserError, messageOf } from "../../errors.js";
import { isPlainObject, readInputFile, writeFileAtomic } from "../../util/index.js";

/**
 * The default controller: ingress-nginx's kind provider manifest at its last v1.x release (the
 * project was retired upstream in March 2026), pinned by the sha256 of the file at that tag.
 */
export const INGRESS_NGINX = {
  release: "controller-v1.15.1",
  url: "https://raw.githubusercontent.com/kubernetes/ingress-nginx/controller-v1.15.1/deploy/static/provider/kind/deploy.yaml",
  sha256: "2a3ae008c8786431115502644e77ab398fdebfb721a5d1195ed3089cde3299df",
} as const;

/** The node label kind's ingress guide (and dify-local's kind config) puts on the node that maps ports 80 and 443. */
export const INGRESS_NODE_LABEL = "ingress-ready";

/** One object of a manifest, as applied. */
export interface ManifestObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
}

/** Where the manifest comes from and the digest it must have. */
export interface ManifestSource {
  /** A URL or an absolute file path. */
  location: string;
  url: boolean;
  /** The expected sha256 (hex), when one is known: the config's, or the pin of the default manifest. */
  sha256: string | undefined;
}

export interface IngressManifest {
  source: ManifestSource;
  /** The sha256 of the bytes that were read. */
  digest: string;
  /** Where the bytes came from this time. */
  from: "cache" | "download" | "file";
  objects: ManifestObject[];
}

const MAX_BYTES = 4 * 1024 * 1024;
const DOWNLOAD_TIMEOUT_MS = 60_000;

/** The configured manifest: the pinned release by default, else the config's URL or file (relative to `cwd`). */
export function manifestSource(config: Config, cwd: string = process.cwd()): ManifestSource {
  const { manifest, sha256 } = config.cluster.ingress;
  if (manifest === undefined) return { location: INGRESS_NGINX.url, url: true, sha256: sha256 ?? INGRESS_NGINX.sha256 };
  const url = /^https?:\/\//i.test(manifest);
  return { location: url ? manifest : resolve(cwd, manifest), url, sha256 };
}

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** A mismatch names both digests; nothing that fails the check is cached or applied. */
function checkDigest(source: ManifestSource, bytes: Buffer): string {
  const digest = sha256Hex(bytes);
  if (source.sha256 !== undefined && digest !== source.sha256) {
    throw new OperationError(`ingress manifest ${source.location}: its sha256 is ${digest}, expected ${source.sha256}`, {
      hint:
        "the file is not the one pinned (changed upstream, or something between altered it); nothing was applied. " +
        "If you trust this file, set cluster.ingress.sha256 to its digest in dify-local.yaml",
    });
  }
  return digest;
}

/** The offline hint: the same file, fetched elsewhere, used from disk. */
function offlineHint(source: ManifestSource): string {
  const pin = source.sha256 ? ` and cluster.ingress.sha256: ${source.sha256}` : "";
  return (
    `download it where there is network (curl -fLo ingress-nginx-kind.yaml ${source.location}), copy it here and set ` +
    `cluster.ingress.manifest: ./ingress-nginx-kind.yaml${pin} in dify-local.yaml; or set cluster.ingress.controller: none to install your own`
  );
}

async function download(source: ManifestSource, fetchFn: typeof fetch): Promise<Buffer> {
  let res: Response;
  try {
    res = await fetchFn(source.location, { signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS), redirect: "follow" });
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause;
    throw new EnvironmentError(`could not download the ingress manifest ${source.location}: ${messageOf(cause ?? err)}`, {
      hint: `no network? ${offlineHint(source)}`,
      cause: err,
    });
  }
  if (!res.ok) {
    throw new OperationError(`could not download the ingress manifest ${source.location}: HTTP ${res.status} ${res.statusText}`.trim(), {
      hint: offlineHint(source),
    });
  }
  return Buffer.from(await res.arrayBuffer());
}

/**
 * The manifest's bytes: a file is read as it is; a URL is downloaded once and cached under
 * `cache` (named by the URL's hash), and a cached copy that no longer has the pinned digest is
 * fetched again. The digest is checked before anything is cached or returned.
 */
export async function loadManifest(source: ManifestSource, options: { cache: string; fetch?: typeof fetch }): Promise<IngressManifest> {
  if (!source.url) {
    const bytes = await readInputFile(source.location, { what: "ingress manifest", key: "cluster.ingress.manifest", maxBytes: MAX_BYTES });
    if (!bytes) throw new UserError(`cannot read ingress manifest ${source.location}`, { key: "cluster.ingress.manifest" });
    return { source, digest: checkDigest(source, bytes), from: "file", objects: parseManifest(bytes.toString("utf8"), source.location) };
  }
  const dir = join(options.cache, "manifests");
  const file = join(dir, `${sha256Hex(source.location)}.yaml`);
  const cached = await readFile(file).catch(() => undefined);
  if (cached && (source.sha256 === undefined || sha256Hex(cached) === source.sha256)) {
    return { source, digest: sha256Hex(cached), from: "cache", objects: parseManifest(cached.toString("utf8"), source.location) };
  }
  const bytes = await download(source, options.fetch ?? fetch);
  const digest = checkDigest(source, bytes);
  const objects = parseManifest(bytes.toString("utf8"), source.location);
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(file, bytes);
  return { source, digest, from: "download", objects };
}

/** Every object of a multi-document YAML manifest, in order; empty documents are skipped. */
export function parseManifest(text: string, location: string): ManifestObject[] {
  const objects: ManifestObject[] = [];
  parseAllDocuments(text).forEach((doc, i) => {
    const where = `ingress manifest ${location}, document ${i + 1}`;
    if (doc.errors.length > 0) throw new OperationError(`${where}: ${doc.errors[0]?.message ?? "invalid YAML"}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return;
    const meta = isPlainObject(value) ? value.metadata : undefined;
    if (
      !isPlainObject(value) ||
      typeof value.apiVersion !== "string" ||
      typeof value.kind !== "string" ||
      !isPlainObject(meta) ||
      typeof meta.name !== "string"
    )
      throw new OperationError(`${where}: not a Kubernetes object (apiVersion, kind and metadata.name are needed)`);
    objects.push(value as ManifestObject);
  });
  if (objects.length === 0) throw new OperationError(`ingress manifest ${location} holds no Kubernetes object`);
  return objects;
}

/** The IngressClass names a manifest defines. */
export function manifestClasses(objects: readonly ManifestObject[]): string[] {
  return objects.filter((o) => o.kind === "IngressClass").map((o) => o.metadata.name);
}

/** Whether a pod template's containers take host ports (what makes a controller answer on the node's 80/443). */
function usesHostPorts(template: unknown): boolean {
  const spec = isPlainObject(template) && isPlainObject(template.spec) ? template.spec : undefined;
  const containers = spec && Array.isArray(spec.containers) ? (spec.containers as unknown[]) : [];
  return containers.some(
    (c) => isPlainObject(c) && Array.isArray(c.ports) && c.ports.some((p) => isPlainObject(p) && typeof p.hostPort === "number"),
  );
}

/**
 * Only the control-plane node maps ports 80 and 443 to the host, and it carries `ingress-ready=true`.
 * ingress-nginx's kind manifest selected that node up to v1.12; from v1.13 it expects a
 * LoadBalancer (cloud-provider-kind) instead and may land on a worker. So every workload whose
 * pods take host ports is pinned to that node, as the older manifests and kind's guide do.
 */
export function pinToIngressNode(objects: readonly ManifestObject[]): ManifestObject[] {
  return objects.map((o) => {
    if (!["Deployment", "DaemonSet"].includes(o.kind)) return o;
    const spec = isPlainObject(o.spec) ? o.spec : undefined;
    const template = spec?.template;
    if (!spec || !isPlainObject(template) || !usesHostPorts(template)) return o;
    const podSpec = template.spec as Record<string, unknown>;
    const nodeSelector = { ...(isPlainObject(podSpec.nodeSelector) ? podSpec.nodeSelector : {}), [INGRESS_NODE_LABEL]: "true" };
    return { ...o, spec: { ...spec, template: { ...template, spec: { ...podSpec, nodeSelector } } } };
  });
}
