import { KIND_NETWORK, PROBE_SELECTOR } from "../cluster/index.js";
import { step } from "../engine/index.js";
import { EnvironmentError, UserError } from "../errors.js";
import { LABELS } from "../runtime/index.js";
import { isExternal } from "../services/index.js";
import { introduceExisting, Stack, type ExclusiveOptions, type StackOptions } from "../stack/index.js";

export interface DownOptions extends StackOptions, ExclusiveOptions {
  /** Also delete the data volumes dify-local made. The CLI asks for confirmation first. */
  purge?: boolean;
  /** Leave the kind cluster running. */
  keepCluster?: boolean;
  /** Delete the kind cluster even when dify-local did not create it (`--delete-cluster`). */
  deleteCluster?: boolean;
  /** With `cluster.context` and `purge`: go on although the context's name suggests production. */
  yes?: boolean;
}

export interface DownResult {
  /** The kind cluster deleted, if any. */
  clusterDeleted: string | undefined;
  /** The kind cluster left running because dify-local did not create it (without `deleteCluster`). */
  clusterLeftAlone: string | undefined;
  removed: string[];
  /** Containers with the seed's names that dify-local did not make; left alone. */
  leftAlone: string[];
  volumesRemoved: string[];
  volumesKept: string[];
  /** The config's volumes without dify-local's label (made by hand): never deleted, not even by `purge`. */
  volumesLeftAlone: string[];
  /** With `cluster.context`: the namespace, which `down` never deletes ("dify in context my-eks"). */
  namespaceLeftAlone?: string;
  /** With `cluster.context` and `purge`: probe Jobs an interrupted `verify` left in the namespace, deleted. */
  probeJobsRemoved?: string[];
  /** External services (`external: {...}`), as `service host:port`: dify-local never changes them, not even with `purge`. */
  externalLeftAlone: string[];
}

/**
 * Removes the config's containers that dify-local made (labelled as its own), and the kind cluster
 * when dify-local created it (or `deleteCluster`). Data volumes stay
 * unless `purge`, which deletes only the config's volumes that carry dify-local's label.
 * Containers and volumes made by hand under the config's names are never removed; the result
 * names them (`leftAlone`, `volumesLeftAlone`). Holds the stack's lock, as `up` does.
 */
export async function down(options: DownOptions = {}): Promise<DownResult> {
  if (options.keepCluster && options.deleteCluster) {
    throw new UserError("--keep-cluster and --delete-cluster cannot be used together", { key: "--delete-cluster" });
  }
  const stack = await Stack.open(options);
  // Without --purge nothing in an existing cluster changes, so it is not even asked.
  if (options.purge) await introduceExisting(stack, { writes: "down --purge", yes: options.yes ?? false });
  return stack.exclusive("down", options, async () => {
    const externalLeftAlone = leaveExternal(stack, options.purge ?? false);
    const { removed, leftAlone } = await removeContainers(stack);
    stack.checkpoint();
    const { deleted: clusterDeleted, leftAlone: clusterLeftAlone } = await deleteCluster(stack, {
      keep: options.keepCluster ?? false,
      evenIfNotOurs: options.deleteCluster ?? false,
    });
    // The kind network dify-local made on Linux (kind keeps a network it finds): gone with the last node.
    if (clusterDeleted && (await stack.runtime.removeNetworkIfOurs(KIND_NETWORK))) {
      stack.sink.emit({ step: "network", status: "ok", detail: `removed ${KIND_NETWORK}` });
    }
    stack.checkpoint();
    const existing = await leaveNamespace(stack, options.purge ?? false);
    return {
      clusterDeleted,
      clusterLeftAlone,
      removed,
      leftAlone,
      ...(await handleVolumes(stack, options.purge ?? false)),
      externalLeftAlone,
      ...existing,
    };
  });
}

/**
 * An existing cluster (`cluster.context`): its namespace is never deleted, and without `purge`
 * nothing there changes; with it, the probe Jobs an interrupted `verify` left are deleted.
 */
async function leaveNamespace(stack: Stack, purge: boolean): Promise<Pick<DownResult, "namespaceLeftAlone" | "probeJobsRemoved">> {
  const existing = stack.existing();
  if (!existing) return {};
  const namespaceLeftAlone = `${existing.namespace} in context ${existing.context}`;
  stack.sink.emit({ step: "cluster", status: "skip", detail: `namespace ${namespaceLeftAlone} left as it is: down never deletes it` });
  if (!purge) return { namespaceLeftAlone };
  const kube = await existing.kube();
  const jobs = (await kube.namespaceExists(existing.namespace)) ? await kube.jobNames(existing.namespace, PROBE_SELECTOR) : [];
  for (const job of jobs)
    await step(
      stack.sink,
      `probe job ${job}`,
      () => kube.deleteJob(existing.namespace, job),
      () => "deleted",
    );
  return { namespaceLeftAlone, probeJobsRemoved: jobs };
}

/** Says, per external service, that it is left as it is (its data is not dify-local's to delete); returns them. */
function leaveExternal(stack: Stack, purge: boolean): string[] {
  const out: string[] = [];
  for (const s of stack.enabled) {
    const at = s.external(stack.config);
    if (!at) continue;
    stack.sink.emit({
      step: `${s.name} external`,
      status: "skip",
      detail: `${at.address} is external: left alone${purge ? " (--purge deletes only dify-local's own volumes)" : ""}`,
    });
    out.push(`${s.name} ${at.address}`);
  }
  return out;
}

/** Stops and removes the containers dify-local made; names the ones made by hand, which stay. */
async function removeContainers(stack: Stack): Promise<{ removed: string[]; leftAlone: string[] }> {
  const { runtime, sink, config } = stack;
  const names = new Set(stack.enabled.filter((s) => !isExternal(s, config)).map((s) => s.settings(config).container));
  const observed = [...(await stack.observe()).values()].filter((c) => names.has(c.name));
  const ours = observed.filter((c) => c.labels[LABELS.managed] === "true");
  const foreign = observed.filter((c) => c.labels[LABELS.managed] !== "true");
  for (const c of foreign) {
    sink.emit({
      step: `${c.name} container`,
      status: "skip",
      detail: `made outside dify-local; left as is (docker rm -f ${c.name} removes it)`,
    });
  }
  const remove = async (id: string): Promise<void> => {
    // A graceful stop first: PostgreSQL and Redis flush on SIGTERM.
    await runtime.stop(id);
    await runtime.remove(id);
  };
  await Promise.all(
    ours.map((c) =>
      step(
        sink,
        `${c.labels[LABELS.component] ?? c.name} container`,
        () => remove(c.id),
        () => `removed ${c.name}`,
      ),
    ),
  );
  return { removed: ours.map((c) => c.name), leftAlone: foreign.map((c) => c.name) };
}

/**
 * Deletes the kind cluster unless kept, and only when dify-local created it (its marker, see
 * `Cluster.createdByDifyLocal`) or `evenIfNotOurs`: a cluster made by someone else (the tutorial's
 * script, kind by hand) is left running, and said so.
 */
async function deleteCluster(
  stack: Stack,
  options: { keep: boolean; evenIfNotOurs: boolean },
): Promise<{ deleted: string | undefined; leftAlone: string | undefined }> {
  const { sink, config } = stack;
  const none = { deleted: undefined, leftAlone: undefined };
  if (stack.clusterMode !== "kind") return none;
  if (options.keep) {
    sink.emit({ step: "cluster delete", status: "skip", detail: `kept ${config.cluster.name} (--keep-cluster)` });
    return none;
  }
  const cluster = stack.cluster();
  try {
    if (!(await cluster.exists())) {
      sink.emit({ step: "cluster delete", status: "skip", detail: `no cluster ${cluster.name}` });
      return none;
    }
  } catch (err) {
    if (!(err instanceof EnvironmentError)) throw err;
    sink.emit({ step: "cluster delete", status: "skip", detail: `kind is not installed, so there is no cluster to delete` });
    return none;
  }
  if (!options.evenIfNotOurs && !(await cluster.createdByDifyLocal())) {
    sink.emit({
      step: "cluster delete",
      status: "skip",
      detail: `left ${cluster.name} running: dify-local did not create it (dify-local down --delete-cluster deletes it anyway)`,
    });
    return { deleted: undefined, leftAlone: cluster.name };
  }
  await step(
    sink,
    "cluster delete",
    () => cluster.kind.delete(cluster.name),
    () => `deleted ${cluster.name}`,
  );
  return { deleted: cluster.name, leftAlone: undefined };
}

/** Deletes dify-local's own data volumes with `purge`; every other volume stays, and is named. */
async function handleVolumes(
  stack: Stack,
  purge: boolean,
): Promise<Pick<DownResult, "volumesRemoved" | "volumesKept" | "volumesLeftAlone">> {
  const { runtime, sink, config } = stack;
  const names = stack.enabled.filter((s) => !isExternal(s, config)).map((s) => s.settings(config).volume);
  const volumes = await runtime.managedVolumes(names);
  const foreign = await runtime.foreignVolumes(names);
  for (const v of foreign) {
    sink.emit({ step: `volume ${v}`, status: "skip", detail: `made outside dify-local; kept (docker volume rm ${v} deletes it)` });
  }
  if (!purge) {
    if (volumes.length > 0) sink.emit({ step: "volumes", status: "skip", detail: `kept ${volumes.join(", ")} (--purge deletes them)` });
    return { volumesRemoved: [], volumesKept: volumes, volumesLeftAlone: foreign };
  }
  for (const v of volumes) {
    stack.checkpoint();
    await step(
      sink,
      `volume ${v}`,
      () => runtime.removeVolume(v),
      () => "removed",
    );
  }
  // Deleted on purpose (or, for a volume already gone, its loss acknowledged): not a loss for the next `up` to report.
  const record = await stack.volumes();
  for (const v of names) if (!foreign.includes(v)) await record.remove(v);
  return { volumesRemoved: volumes, volumesKept: [], volumesLeftAlone: foreign };
}
