import { EnvironmentError, OperationError, messageOf } from "../errors.js";
import type { LabelledContainer, Runtime } from "../runtime/index.js";
import { pollUntil } from "../util/index.js";
import type { Cluster } from "./cluster.js";
import { CONTAINERD_CONFIG, CONTAINERD_CONFIG_BACKUP, registrySettings, withConfigPath, type RegistrySettings } from "./containerd.js";
import { CERTS_D, HOST_ALIAS } from "./files.js";

/** One node and what its containerd makes of its config. */
export interface NodeContainerd {
  node: LabelledContainer;
  settings: RegistrySettings;
}

/**
 * Asks containerd in a running node for its config (`containerd config dump`: the file with its
 * imports merged, defaults filled in and, on containerd 2.x, migrated to version 3), then reads the
 * CRI plugin's registry settings out of it.
 */
export async function nodeRegistrySettings(runtime: Runtime, node: LabelledContainer): Promise<RegistrySettings> {
  const res = await runtime.exec(node.id, ["containerd", "config", "dump"]);
  if (res.exitCode !== 0)
    throw new OperationError(`\`containerd config dump\` failed in node ${node.name}: ${res.stderr.trim() || `exit ${res.exitCode}`}`, {
      hint: `docker exec ${node.name} cat ${CONTAINERD_CONFIG}`,
    });
  try {
    return registrySettings(res.stdout);
  } catch (err) {
    throw new OperationError(`containerd in node ${node.name} reports a config dify-local cannot read: ${messageOf(err)}`);
  }
}

/** The running nodes whose containerd does not read {@link CERTS_D}, with what it has instead. */
export async function nodesIgnoringCertsD(cluster: Cluster): Promise<NodeContainerd[]> {
  const running = (await cluster.nodes()).filter((n) => n.running);
  const all = await Promise.all(running.map(async (node) => ({ node, settings: await nodeRegistrySettings(cluster.runtime, node) })));
  return all.filter((n) => !n.settings.readsCertsD);
}

/** Why a node that does not read certs.d matters (up's refusal, verify's check, the doctor's finding). */
export function certsDWhy(registryPort: number): string {
  return (
    `containerd reads the hosts.toml files in ${CERTS_D} only when its CRI registry config_path names that directory; ` +
    `otherwise it silently ignores them, so pulls from the local registry at ${HOST_ALIAS}:${registryPort} (plain HTTP) fail ` +
    `(kind node images before v0.27 lack the setting unless the cluster was made with kind's containerdConfigPatches)`
  );
}

/** What a node has instead, in words. */
export function certsDDetail(settings: RegistrySettings): string {
  const now = settings.configPaths.length ? `config_path is ${settings.configPaths.join(":")}` : "config_path is not set";
  const conflicts = settings.conflicts.length
    ? `; it sets ${settings.conflicts.join(" and ")}, which containerd refuses with config_path`
    : "";
  return `${now} in [${settings.table}]${conflicts}`;
}

/** The fix for a node that does not read certs.d: the flag, or by hand when the flag cannot help. */
export function certsDFix(settings: RegistrySettings): string {
  return settings.conflicts.length
    ? `move the node's registry ${settings.conflicts.join(" and ")} into hosts.toml files under ${CERTS_D} ` +
        `(https://github.com/containerd/containerd/blob/main/docs/hosts.md), then run \`dify-local up --patch-containerd\``
    : "`dify-local up --patch-containerd` adds it and restarts containerd one node at a time";
}

/** Whether `--patch-containerd` can fix these nodes: none sets what containerd refuses next to config_path. */
export function patchable(lacking: readonly NodeContainerd[]): boolean {
  return lacking.every((l) => l.settings.conflicts.length === 0);
}

/** `up`'s refusal: names every node, says why and how to fix it. */
export function certsDRefusal(cluster: Cluster, lacking: readonly NodeContainerd[]): EnvironmentError {
  const nodes = lacking.map((l) => `${l.node.name} (${certsDDetail(l.settings)})`).join(", ");
  const blocked = lacking.find((l) => l.settings.conflicts.length > 0);
  return new EnvironmentError(
    `containerd in ${lacking.length === 1 ? "node" : "nodes"} ${nodes} of the kind cluster ${cluster.name} does not read ${CERTS_D}: ` +
      `${certsDWhy(cluster.config.registry.port)}. Nothing was changed in the nodes`,
    {
      hint: blocked
        ? certsDFix(blocked.settings)
        : `run \`dify-local up --patch-containerd\`: it adds config_path = "${CERTS_D}" to ${CONTAINERD_CONFIG} in each node ` +
          `(the file as it was is kept as ${CONTAINERD_CONFIG_BACKUP}) and restarts containerd one node at a time, waiting for each node to be Ready again`,
    },
  );
}

/** Writes a node's file through a temporary file and a rename, so containerd never sees half a config. */
async function replaceFile(runtime: Runtime, node: LabelledContainer, path: string, content: string): Promise<void> {
  const tmp = `${path}.dify-local.tmp`;
  await runtime.writeFile(node.id, tmp, content);
  const res = await runtime.exec(node.id, ["mv", "-f", tmp, path]);
  if (res.exitCode !== 0)
    throw new OperationError(`replacing ${path} in node ${node.name} failed: ${res.stderr.trim() || `exit ${res.exitCode}`}`);
}

/**
 * Kind's own way of applying `containerdConfigPatches`, for one node of a cluster made without
 * them: the config read, `config_path` added (the original kept as the backup), containerd's own
 * reading of the new file checked before anything restarts (an import could override it: then the
 * original is put back), `systemctl restart containerd`, then containerd answering again. Returns
 * the change in words.
 */
export async function patchNodeContainerd(cluster: Cluster, node: LabelledContainer): Promise<string> {
  const { runtime } = cluster;
  const before = await runtime.readFile(node.id, CONTAINERD_CONFIG);
  if (before === undefined) throw new OperationError(`node ${node.name} has no ${CONTAINERD_CONFIG} to patch`);
  let after: string;
  try {
    after = withConfigPath(before);
  } catch (err) {
    throw new OperationError(`cannot add config_path to ${CONTAINERD_CONFIG} in node ${node.name}: ${messageOf(err)}`, {
      hint: certsDFix(registrySettings(before)),
    });
  }
  if ((await runtime.readFile(node.id, CONTAINERD_CONFIG_BACKUP)) === undefined)
    await runtime.writeFile(node.id, CONTAINERD_CONFIG_BACKUP, before);
  await replaceFile(runtime, node, CONTAINERD_CONFIG, after);
  const read = await nodeRegistrySettings(runtime, node);
  if (!read.readsCertsD) {
    await replaceFile(runtime, node, CONTAINERD_CONFIG, before);
    throw new OperationError(
      `added config_path to ${CONTAINERD_CONFIG} in node ${node.name}, but containerd, reading it, still finds: ${certsDDetail(read)}; the file was put back as it was and containerd was not restarted`,
      { hint: `an imported file overrides it: docker exec ${node.name} containerd config dump` },
    );
  }
  await restartContainerd(cluster, node);
  return `${node.name}: containerd reads ${CERTS_D} (config_path added, containerd restarted)`;
}

async function restartContainerd(cluster: Cluster, node: LabelledContainer): Promise<void> {
  const { runtime } = cluster;
  const hint = `the config before the patch is ${CONTAINERD_CONFIG_BACKUP} in the node; docker exec ${node.name} journalctl -u containerd`;
  const res = await runtime.exec(node.id, ["systemctl", "restart", "containerd"]);
  if (res.exitCode !== 0)
    throw new OperationError(`restarting containerd in node ${node.name} failed: ${res.stderr.trim() || `exit ${res.exitCode}`}`, { hint });
  const timeout = cluster.config.cluster.readyTimeout;
  await pollUntil(async () => ((await runtime.exec(node.id, ["ctr", "version"])).exitCode === 0 ? true : undefined), {
    initialMs: 100,
    timeoutMs: timeout * 1000,
    onTimeout: () => new OperationError(`containerd in node ${node.name} did not answer within ${timeout}s of its restart`, { hint }),
  });
}
