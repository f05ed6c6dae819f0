import { mkdir, readFile, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { DeploymentState } from "../cluster/index.js";
import { step, type Check, type Finding } from "../engine/index.js";
import { EnvironmentError, InterruptedError, OperationError, UserError, messageOf } from "../errors.js";
import { SECRETS_FILE, userConfigDir, writePrivateFile } from "../helm/index.js";
import { objectsFromSnapshot, tableFromDump, type Service } from "../services/index.js";
import {
  allArtefacts,
  checkArtefacts,
  configDigest,
  DIFY_DATABASE,
  keyPairFacts,
  keyPairFactsOf,
  keyPairFindings,
  listSnapshots,
  privateKeyObject,
  readManifest,
  runChecks,
  snapshotFolder,
  snapshotReader,
  snapshotsDir,
  snapshotSize,
  SnapshotDraft,
  SNAPSHOT_FORMAT,
  Stack,
  timestampName,
  type ArtefactProblem,
  type ExclusiveOptions,
  type KeyPairFacts,
  type SnapshotManifest,
  type StackOptions,
} from "../stack/index.js";
import { packageVersion } from "../util/index.js";

/** Where snapshots are: `dir` (`--dir`), else the user's data directory (see `snapshotsDir`). */
export interface SnapshotDirOptions {
  dir?: string;
  env?: NodeJS.ProcessEnv;
}

export interface SnapshotCreateOptions extends StackOptions, ExclusiveOptions, SnapshotDirOptions {
  /** Default: the time, as 2026-11-27T14-07-15Z. */
  name?: string;
  /** false (`--no-registry`): leave the registry's images out (plugin images can be rebuilt). */
  registry?: boolean;
  /** Scale the deployments running in the cluster to zero while the snapshot is taken, and back afterwards. */
  stopApp?: boolean;
}

/** One service's (or dify-local's own) share of a snapshot. */
export interface SnapshotPart {
  service: string;
  files: number;
  size: number;
}

export interface SnapshotCreateResult {
  name: string;
  folder: string;
  size: number;
  parts: SnapshotPart[];
  /** Why the snapshot may not be consistent (Dify running in the cluster while it was taken). */
  warnings: string[];
}

/** The group dify-local's own files are kept under in a snapshot. */
const OWN = "dify-local";

/**
 * Saves every enabled store (PostgreSQL, Redis, MinIO, Qdrant, the registry) and dify-local's
 * chart secrets into one snapshot folder, written atomically: the folder appears, with its
 * manifest, only when every artefact was written. Holds the stack's lock (no `up` or `down`
 * meanwhile).
 */
export async function snapshotCreate(options: SnapshotCreateOptions = {}): Promise<SnapshotCreateResult> {
  const stack = await Stack.open(options);
  const dir = snapshotsDir(stack.env, options.dir);
  const name = options.name ?? timestampName();
  const services = await snapshotServices(stack, options.registry ?? true);
  const running = await appDeployments(stack);
  if (running.length > 0 && options.stopApp)
    return withAppStopped(stack, running, () => snapshotCreateIn(stack, options, dir, name, services));
  const warnings = running.length > 0 ? [appWarning(running)] : [];
  for (const w of warnings) stack.sink.emit({ step: "snapshot", status: "warn", detail: w });
  return { ...(await snapshotCreateIn(stack, options, dir, name, services)), warnings };
}

function snapshotCreateIn(
  stack: Stack,
  options: ExclusiveOptions,
  dir: string,
  name: string,
  services: readonly Service[],
): Promise<Omit<SnapshotCreateResult, "warnings">> {
  return stack.exclusive("snapshot create", options, () => createIn(stack, dir, name, services));
}

function appWarning(running: readonly DeploymentState[]): string {
  const names = running.map((d) => `${d.namespace}/${d.name}`);
  return (
    `deployments run in the cluster (${names.join(", ")}): if Dify writes while the stores are saved one after another, they may not match; ` +
    "stop them first (kubectl scale deployment --replicas=0 -n NAMESPACE NAME, or snapshot create --stop-app) and start them again afterwards"
  );
}

/** How long scaling the app's deployments down or up may take. */
const SCALE_TIMEOUT_S = 300;

/**
 * `--stop-app`: scales the running deployments to zero (waiting until their pods are gone), runs
 * `body`, and scales each back to its replicas, also when `body` failed.
 */
async function withAppStopped(
  stack: Stack,
  running: readonly DeploymentState[],
  body: () => Promise<Omit<SnapshotCreateResult, "warnings">>,
): Promise<SnapshotCreateResult> {
  const kube = await stack.cluster().kube();
  const scale = (d: DeploymentState, n: number, verb: string): Promise<void> =>
    step(
      stack.sink,
      `${verb} ${d.namespace}/${d.name}`,
      () => kube.scaleDeployment(d.namespace, d.name, n, SCALE_TIMEOUT_S),
      () => `${n} replicas`,
    );
  const stopped: DeploymentState[] = [];
  try {
    for (const d of running) {
      await scale(d, 0, "stop");
      stopped.push(d);
    }
    return { ...(await body()), warnings: [] };
  } finally {
    for (const d of stopped) await scale(d, d.replicas, "start");
  }
}

/**
 * The cluster's own namespaces: what runs there is Kubernetes', not Dify's. ingress-nginx is the
 * controller `up` installs (and the tutorial's): it keeps no data, and stopping it would only cut
 * the browser off.
 */
const SYSTEM_NAMESPACES = new Set(["kube-system", "kube-public", "kube-node-lease", "local-path-storage", "ingress-nginx"]);

/**
 * The deployments running in the cluster outside its own namespaces (in a kind cluster made for
 * Dify, those are Dify's): they may write while the stores are saved one after another. None
 * without a cluster, or when the cluster cannot be asked (then there is nothing to warn about or stop).
 */
async function appDeployments(stack: Stack): Promise<DeploymentState[]> {
  // An existing cluster is shared: what runs there is not dify-local's to stop (nor to warn about here).
  if (stack.clusterMode !== "kind") return [];
  try {
    const cluster = stack.cluster();
    if (!(await cluster.exists())) return [];
    return (await (await cluster.kube()).deployments()).filter((d) => !SYSTEM_NAMESPACES.has(d.namespace) && d.replicas > 0);
  } catch {
    return [];
  }
}

/** The enabled services with data to snapshot; each must run (checked before anything is written). */
async function snapshotServices(stack: Stack, registry: boolean): Promise<Service[]> {
  const services = stack.enabled.filter((s) => s.snapshot && (registry || s.name !== "registry"));
  refuseExternal(stack, services);
  await requireRunning(stack, services);
  return services;
}

/** The enabled services whose data a snapshot keeps. */
function storesOf(stack: Stack): Service[] {
  return stack.enabled.filter((s) => s.snapshot);
}

/** Every container of `services` (the external ones have none) exists and runs. */
async function requireRunning(stack: Stack, services: readonly Service[]): Promise<void> {
  for (const s of services) {
    if (s.external(stack.config)) continue;
    const name = s.settings(stack.config).container;
    const c = await stack.containerOf(s);
    if (!c?.running)
      throw new EnvironmentError(
        `the ${s.title} container ${name} ${c ? `is ${c.state}` : "does not exist"}: a snapshot needs every store running`,
        {
          hint: "start the stack with `dify-local up`; nothing was written",
        },
      );
  }
}

/**
 * `snapshot create` saves dify-local's own containers; an external store is refused by name
 * before anything is read or written (back it up with its own tools; a restore can go into one).
 */
function refuseExternal(stack: Stack, services: readonly Service[]): void {
  const external = services.find((s) => s.external(stack.config));
  if (!external) return;
  throw new UserError(
    `${external.name} is external (${external.external(stack.config)?.address ?? "?"}): snapshot create covers the stores dify-local runs, not external ones (a snapshot can be restored into them); nothing was written`,
    {
      key: `${external.name}.external`,
      hint: `back it up with its own tools (pg_dump, its provider's snapshots), or snapshot a config without ${external.name}.external`,
    },
  );
}

/** The containers of the stores a snapshot covers that do not exist or do not run (external stores have none). */
async function missingContainers(stack: Stack): Promise<string[]> {
  const missing: string[] = [];
  for (const s of stack.enabled.filter((x) => x.snapshot && !x.external(stack.config)))
    if (!(await stack.containerOf(s))?.running) missing.push(s.settings(stack.config).container);
  return missing;
}

async function createIn(
  stack: Stack,
  dir: string,
  name: string,
  services: readonly Service[],
): Promise<Omit<SnapshotCreateResult, "warnings">> {
  const draft = await SnapshotDraft.begin(dir, name);
  try {
    const entries: SnapshotManifest["services"] = [];
    for (const s of services) {
      const container = await stack.containerOf(s);
      const save = s.snapshot?.save;
      if (!save || !container) continue;
      stack.checkpoint();
      await step(
        stack.sink,
        `snapshot ${s.name}`,
        () => save(stack.contextFor(container), draft.writer(s.name)),
        () => sizeOf(draft.written(s.name)),
      );
      entries.push({
        service: s.name,
        container: container.name,
        image: container.image,
        imageId: container.imageId,
        artefacts: draft.written(s.name),
      });
    }
    const secrets = join(userConfigDir(stack.env), SECRETS_FILE);
    const text = await readFile(secrets, "utf8").catch(() => undefined);
    if (text !== undefined) await draft.writer(OWN).write(SECRETS_FILE, text);
    const manifest: SnapshotManifest = {
      format: SNAPSHOT_FORMAT,
      name,
      createdAt: new Date().toISOString(),
      difyLocalVersion: await packageVersion(),
      configDigest: configDigest(
        stack.config,
        stack.services.flatMap((s) => s.secrets(stack.config, undefined)),
      ),
      services: entries,
      files: draft.written(OWN),
    };
    await draft.commit(manifest);
    stack.sink.emit({ step: "snapshot", status: "ok", detail: `${name}: ${sizeOf(allArtefacts(manifest))} in ${draft.folder}` });
    return { name, folder: draft.folder, size: snapshotSize(manifest), parts: partsOf(manifest) };
  } catch (err) {
    await draft.abort();
    throw err;
  }
}

function sizeOf(artefacts: ReadonlyArray<{ size: number }>): string {
  const bytes = artefacts.reduce((n, a) => n + a.size, 0);
  return `${artefacts.length} file${artefacts.length === 1 ? "" : "s"}, ${formatBytes(bytes)}`;
}

/** Bytes for people: 1.5 MiB. */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i] ?? ""}`;
}

function partsOf(m: SnapshotManifest): SnapshotPart[] {
  const parts = m.services.map((s) => ({
    service: s.service,
    files: s.artefacts.length,
    size: s.artefacts.reduce((n, a) => n + a.size, 0),
  }));
  if (m.files.length > 0) parts.push({ service: OWN, files: m.files.length, size: m.files.reduce((n, a) => n + a.size, 0) });
  return parts;
}

/** One snapshot as `snapshot ls` lists it. */
export interface SnapshotListEntry {
  name: string;
  createdAt: string | undefined;
  size: number | undefined;
  services: string[];
  difyLocalVersion: string | undefined;
  /** "ok" when the manifest reads and every file is there with its size (`snapshot verify` checks the sha256 too). */
  integrity: "ok" | "damaged";
  problems: string[];
}

export interface SnapshotListResult {
  dir: string;
  snapshots: SnapshotListEntry[];
}

/** The snapshots in the snapshot folder, oldest name first, each with a quick integrity check (files and sizes). */
export async function snapshotList(options: SnapshotDirOptions = {}): Promise<SnapshotListResult> {
  const dir = snapshotsDir(options.env ?? process.env, options.dir);
  const snapshots = (await listSnapshots(dir)).map((e) => ({
    name: e.name,
    createdAt: e.manifest?.createdAt,
    size: e.manifest ? snapshotSize(e.manifest) : undefined,
    services: e.manifest?.services.map((s) => s.service) ?? [],
    difyLocalVersion: e.manifest?.difyLocalVersion,
    integrity: e.problems.length === 0 ? ("ok" as const) : ("damaged" as const),
    problems: e.problems,
  }));
  return { dir, snapshots };
}

export interface SnapshotNameOptions extends SnapshotDirOptions {
  name: string;
}

/** Deletes a snapshot folder (a snapshot is the user's data: only ever by name). */
export async function snapshotRemove(options: SnapshotNameOptions): Promise<{ name: string; folder: string }> {
  const dir = snapshotsDir(options.env ?? process.env, options.dir);
  const folder = await snapshotFolder(dir, options.name);
  await rm(folder, { recursive: true, force: true });
  return { name: options.name, folder };
}

/** A snapshot read and checked: its manifest, or an error that changes nothing. */
async function checkedSnapshot(
  dir: string,
  name: string,
  sink?: Stack["sink"],
): Promise<{ folder: string; manifest: SnapshotManifest; problems: ArtefactProblem[] }> {
  const folder = await snapshotFolder(dir, name);
  const read = await readManifest(folder);
  if ("problem" in read) {
    if (read.incompatible) throw new UserError(`snapshot ${name} cannot be used: ${read.problem}`, { key: "NAME" });
    throw new OperationError(`snapshot ${name} is damaged: ${read.problem}`, { hint: "nothing was changed" });
  }
  const check = (): Promise<ArtefactProblem[]> => checkArtefacts(folder, read.manifest);
  const problems = sink
    ? await step(sink, "snapshot checksums", check, (p) =>
        p.length ? `${p.length} problems` : `${allArtefacts(read.manifest).length} files intact`,
      )
    : await check();
  return { folder, manifest: read.manifest, problems };
}

export interface SnapshotVerifyResult {
  name: string;
  /** Files missing, of another size, or whose sha256 differs from the manifest's. */
  problems: ArtefactProblem[];
  /** The key-pair check over the snapshot's own data (its tenants and private keys); empty when the files are damaged. */
  keyPairs: Finding[];
  ok: boolean;
}

export type SnapshotVerifyOptions = SnapshotNameOptions & StackOptions;

/**
 * Checks a snapshot without restoring it: its format, every file's presence, size and sha256, and
 * the key-pair check over its own data (the tenants in its dump of the dify database, read with
 * the running PostgreSQL container's pg_restore, against the private keys among its objects).
 */
export async function snapshotVerify(options: SnapshotVerifyOptions): Promise<SnapshotVerifyResult> {
  const dir = snapshotsDir(options.env ?? process.env, options.dir);
  const { folder, manifest, problems } = await checkedSnapshot(dir, options.name);
  const keyPairs = problems.length === 0 ? keyPairFindings(await snapshotKeyPairs(options, folder, manifest)) : [];
  return { name: options.name, problems, keyPairs, ok: problems.length === 0 && keyPairs.every((f) => f.severity !== "error") };
}

/** The key-pair facts of a snapshot's own data; a reason when it holds no tenants to check or they cannot be read. */
async function snapshotKeyPairs(options: StackOptions, folder: string, manifest: SnapshotManifest): Promise<KeyPairFacts> {
  const pgEntry = manifest.services.find((s) => s.service === "postgres");
  const minioEntry = manifest.services.find((s) => s.service === "minio");
  const dump = `${DIFY_DATABASE}.dump`;
  if (!pgEntry?.artefacts.some((a) => a.file === `postgres/${dump}`) || !minioEntry)
    return { checked: false, reason: `the snapshot has no dump of the ${DIFY_DATABASE} database or no MinIO objects`, error: false };
  try {
    const stack = await Stack.open(options);
    const pgService = stack.services.find((s) => s.name === "postgres");
    const container = pgService ? await stack.containerOf(pgService) : undefined;
    if (!container?.running)
      return {
        checked: false,
        reason: "reading the tenants out of the snapshot needs the PostgreSQL container running (dify-local up)",
        error: true,
      };
    const ctx = { settings: stack.config.postgres, runtime: stack.runtime, container };
    const rows = await tableFromDump(ctx, snapshotReader(folder, pgEntry.artefacts, "postgres").open(dump), "tenants");
    const tenants = rows.flatMap((r) => (r.id && r.encrypt_public_key ? [{ id: r.id, key: r.encrypt_public_key }] : []));
    const bucket = JSON.parse(await snapshotReader(folder, minioEntry.artefacts, "minio").text("index.json")) as { bucket?: string };
    const keys = await objectsFromSnapshot(
      snapshotReader(folder, minioEntry.artefacts, "minio"),
      new Set(tenants.map((t) => privateKeyObject(t.id))),
    );
    return keyPairFactsOf(tenants, keys, bucket.bucket ?? stack.config.minio.bucket);
  } catch (err) {
    return { checked: false, reason: `could not read the snapshot's tenants and keys: ${messageOf(err)}`, error: true };
  }
}

export interface SnapshotRestoreOptions extends StackOptions, ExclusiveOptions, SnapshotDirOptions {
  name: string;
  /** Required: a restore replaces the data of every store in the snapshot (the CLI asks on a terminal). */
  yes?: boolean;
  /** false (`--no-backup`): no automatic snapshot of the current state first. */
  backup?: boolean;
  /** false (`--no-registry`): leave the registry as it is even when the snapshot has its images. */
  registry?: boolean;
  /**
   * Creates what is missing before the data goes in (the CLI passes `up`): a restore onto a new
   * machine, or after `down`. Run, after every check of the snapshot and the confirmation, only
   * when a store's container is missing or stopped. Without it, such a stack is refused.
   */
  prepare?: () => Promise<void>;
}

/** What a restore would replace, for the confirmation; checked like the restore itself, changing nothing. */
export interface SnapshotRestorePlan {
  name: string;
  createdAt: string;
  replaces: string[];
  /** The snapshot was taken with other settings (names, ports, images): restored anyway, into the current containers. */
  configChanged: boolean;
  /**
   * What is not restored and what to know, for external stores: Redis's keys and the registry's
   * images are not put into external ones; vector data does not carry across engines.
   */
  notes: string[];
}

export interface SnapshotRestoreResult extends SnapshotRestorePlan {
  /** The automatic snapshot taken first, unless `backup: false`. */
  backup: string | undefined;
  restored: string[];
  /** `verify`'s checks after the restore. */
  checks: Check[];
  /** The key-pair check after the restore. */
  keyPairs: Finding[];
  ok: boolean;
}

/** Everything a restore checks before it changes anything: the snapshot, the services, their containers. */
async function prepareRestore(
  stack: Stack,
  options: SnapshotRestoreOptions,
): Promise<{ plan: SnapshotRestorePlan; folder: string; manifest: SnapshotManifest; services: Service[] }> {
  const dir = snapshotsDir(stack.env, options.dir);
  const { folder, manifest, problems } = await checkedSnapshot(dir, options.name, stack.sink);
  if (problems.length > 0)
    throw new OperationError(`snapshot ${options.name} is damaged: ${problems.map((p) => `${p.file}: ${p.problem}`).join("; ")}`, {
      hint: "nothing was changed; restore another snapshot (dify-local snapshot ls)",
    });
  const services: Service[] = [];
  const notes: string[] = [];
  for (const entry of manifest.services) {
    if (entry.service === "registry" && options.registry === false) continue;
    const service = stack.services.find((s) => s.name === entry.service);
    if (!service?.snapshot)
      throw new UserError(`snapshot ${options.name} holds data of ${entry.service}, which this dify-local does not know`, { key: "NAME" });
    if (!stack.enabled.includes(service))
      throw new UserError(
        `snapshot ${options.name} holds ${service.title}'s data, but ${service.name}.enabled is false; nothing was changed`,
        {
          key: `${service.name}.enabled`,
        },
      );
    const external = service.external(stack.config) !== undefined;
    const skip = external ? service.snapshot.notRestoredExternal : undefined;
    if (skip) notes.push(skip);
    else services.push(service);
    if (external && service.snapshot.externalNote) notes.push(service.snapshot.externalNote);
  }
  refuseUnbackedExternal(stack, services, options);
  const missing = await missingContainers(stack);
  if (!options.prepare || missing.length === 0)
    await requireRunning(stack, storesOf(stack)).then(
      () => undefined,
      (err: unknown) => {
        throw err instanceof EnvironmentError
          ? new EnvironmentError(err.message.replace("a snapshot needs", "a restore needs"), {
              hint: "start the stack with `dify-local up` (it creates what is missing); nothing was changed",
            })
          : err;
      },
    );
  const replaces = services.map((s) => s.snapshot?.replaces(stack.config) ?? s.name);
  if (options.prepare && missing.length > 0)
    replaces.unshift(`nothing in ${missing.join(", ")} (missing or stopped: \`dify-local up\` makes them first)`);
  if (manifest.files.some((f) => f.file === `${OWN}/${SECRETS_FILE}`))
    replaces.push(`the chart secrets in ${join(userConfigDir(stack.env), SECRETS_FILE)}`);
  const digest = configDigest(
    stack.config,
    stack.services.flatMap((s) => s.secrets(stack.config, undefined)),
  );
  return {
    plan: { name: options.name, createdAt: manifest.createdAt, replaces, configChanged: digest !== manifest.configDigest, notes },
    folder,
    manifest,
    services,
  };
}

/**
 * The automatic snapshot before a restore covers the stores dify-local runs only: replacing an
 * external store's data (a shared server) without a copy is refused unless `backup: false`
 * (`--no-backup`), which the user gives after backing it up with its own tools. Changes nothing.
 */
function refuseUnbackedExternal(stack: Stack, services: readonly Service[], options: SnapshotRestoreOptions): void {
  const external = services.filter((s) => s.external(stack.config));
  if (external.length === 0 || options.backup === false) return;
  const where = external.map((s) => `${s.title} at ${s.external(stack.config)?.address ?? "?"}`).join(", ");
  throw new UserError(
    `restoring ${options.name} replaces data in external stores (${where}), which the automatic pre-restore snapshot cannot cover (it saves the stores dify-local runs); nothing was changed`,
    {
      key: "--no-backup",
      hint: "back them up with their own tools first (pg_dump -Fc of each database, a copy or versioning of the bucket, a Qdrant snapshot), then run the restore again with --no-backup",
    },
  );
}

/** The stores the automatic pre-restore snapshot saves: the enabled ones dify-local runs (each must run). */
async function localServices(stack: Stack, registry: boolean): Promise<Service[]> {
  const services = stack.enabled.filter((s) => s.snapshot && !s.external(stack.config) && (registry || s.name !== "registry"));
  await requireRunning(stack, services);
  return services;
}

/** What restoring a snapshot would replace, after every check the restore makes first; changes nothing. */
export async function snapshotRestorePlan(options: SnapshotRestoreOptions): Promise<SnapshotRestorePlan> {
  return (await prepareRestore(await Stack.open(options), options)).plan;
}

/**
 * Replaces the data of every store in a snapshot with the snapshot's, into the existing
 * containers: first every check (format, every file's sha256, the services, their containers;
 * a failure changes nothing), then an automatic snapshot of the current state (unless
 * `backup: false`), then each service's restore, then `verify` and the key-pair check.
 */
export async function snapshotRestore(options: SnapshotRestoreOptions): Promise<SnapshotRestoreResult> {
  const stack = await Stack.open(options);
  const { plan, folder, manifest, services } = await prepareRestore(stack, options);
  if (!options.yes)
    throw new UserError(
      `restoring ${options.name} replaces ${plan.replaces.join("; ")}; add --yes to confirm when not running interactively`,
      { key: "--yes" },
    );
  if (options.prepare && (await missingContainers(stack)).length > 0) {
    // Before the restore's own lock: `up` takes it too.
    await options.prepare();
    stack.forgetObserved();
    await requireRunning(stack, storesOf(stack));
  }
  return stack.exclusive("snapshot restore", options, async () => {
    let backup: string | undefined;
    if (options.backup ?? true) {
      backup = timestampName(new Date(), "pre-restore-");
      await createIn(stack, snapshotsDir(stack.env, options.dir), backup, await localServices(stack, options.registry ?? true));
    }
    const restored: string[] = [];
    try {
      for (const s of services) restored.push(...(await restoreService(stack, s, folder, manifest)));
    } catch (err) {
      throw halfRestored(err, options.name, restored, backup);
    }
    restored.push(...(await restoreOwnFiles(stack, folder, manifest)));
    stack.forgetObserved();
    const checks = await runChecks(stack);
    const keyPairs = keyPairFindings(await keyPairFacts(stack.config, stack.host, await stack.observe()));
    const ok = checks.every((c) => c.ok) && keyPairs.every((f) => f.severity !== "error");
    return { ...plan, backup, restored, checks, keyPairs, ok };
  });
}

/** One service's restore, as a step, from its artefacts of the (checked) snapshot. */
async function restoreService(stack: Stack, s: Service, folder: string, manifest: SnapshotManifest): Promise<string[]> {
  const restore = s.snapshot?.restore;
  // An external store has no container: its context points at the external server.
  const external = s.external(stack.config) !== undefined;
  const container = external ? undefined : await stack.containerOf(s);
  if (!restore || (!external && !container)) return [];
  stack.checkpoint();
  const artefacts = manifest.services.find((e) => e.service === s.name)?.artefacts ?? [];
  const reader = snapshotReader(folder, artefacts, s.name);
  return step(
    stack.sink,
    `restore ${s.name}`,
    () => restore(stack.contextFor(container), reader),
    (r) => r.join("; "),
  );
}

/** A restore that failed part-way: what was restored already, and the way back to the state before. */
function halfRestored(err: unknown, name: string, restored: readonly string[], backup: string | undefined): Error {
  if (err instanceof InterruptedError) return err;
  const done = restored.length ? `; before that it had ${restored.join("; ")}` : "";
  const back = backup
    ? `the state from before the restore is in snapshot ${backup}: dify-local snapshot restore ${backup} --yes --no-backup`
    : "there is no automatic snapshot of the state before (--no-backup)";
  return new OperationError(`restoring snapshot ${name} failed: ${messageOf(err)}${done}`, {
    hint: `fix the cause and run the restore again, or go back: ${back}`,
    cause: err,
  });
}

/** dify-local's chart secrets, so values rendered from now on match the restored data. */
async function restoreOwnFiles(stack: Stack, folder: string, manifest: SnapshotManifest): Promise<string[]> {
  const reader = snapshotReader(folder, manifest.files, OWN);
  if (!reader.names.includes(SECRETS_FILE)) return [];
  const target = join(userConfigDir(stack.env), SECRETS_FILE);
  await mkdir(dirname(target), { recursive: true, mode: 0o700 });
  await writePrivateFile(target, await reader.text(SECRETS_FILE));
  return [`restored the chart secrets in ${target} (render the values again: dify-local values)`];
}
