import { KIND_NETWORK } from "../cluster/index.js";
import { step } from "../engine/index.js";
import { EnvironmentError } from "../errors.js";
import { LABELS } from "../runtime/index.js";
import { Stack, type StackOptions } from "../stack/index.js";

export interface DownOptions extends StackOptions {
  /** Also delete the data volumes dify-local made. The CLI asks for confirmation first. */
  purge?: boolean;
  /** Leave the kind cluster running. */
  keepCluster?: boolean;
}

export interface DownResult {
  /** The kind cluster deleted, if any. */
  clusterDeleted: string | undefined;
  removed: string[];
  /** Containers with the seed's names that dify-local did not make; left alone. */
  leftAlone: string[];
  volumesRemoved: string[];
  volumesKept: string[];
  /** The config's volumes without dify-local's label (made by hand): never deleted, not even by `purge`. */
  volumesLeftAlone: string[];
}

/**
 * Removes the config's containers that dify-local made (labelled as its own). Data volumes stay
 * unless `purge`, which deletes only the config's volumes that carry dify-local's label.
 * Containers and volumes made by hand under the config's names are never removed; the result
 * names them (`leftAlone`, `volumesLeftAlone`).
 */
export async function down(options: DownOptions = {}): Promise<DownResult> {
  const stack = await Stack.open(options);
  const { runtime, sink, config } = stack;
  const names = new Set(stack.enabled.map((s) => s.settings(config).container));
  const observed = [...(await stack.observe()).values()].filter((c) => names.has(c.name));
  const ours = observed.filter((c) => c.labels[LABELS.managed] === "true");
  const foreign = observed.filter((c) => c.labels[LABELS.managed] !== "true");
  for (const c of foreign) {
    sink.emit({ step: `${c.name} container`, status: "skip", detail: `made outside dify-local; left as is (docker rm -f ${c.name} removes it)` });
  }
  await Promise.all(
    ours.map((c) =>
      step(sink, `${c.labels[LABELS.component] ?? c.name} container`, async () => {
        // A graceful stop first: PostgreSQL and Redis flush on SIGTERM.
        await runtime.stop(c.id);
        await runtime.remove(c.id);
      }, () => `removed ${c.name}`),
    ),
  );
  let clusterDeleted: string | undefined;
  if (config.cluster.enabled && !options.keepCluster) {
    const cluster = stack.cluster();
    const name = cluster.name;
    try {
      if (await cluster.exists()) {
        await step(sink, "cluster delete", () => cluster.kind.delete(name), () => `deleted ${name}`);
        clusterDeleted = name;
      } else sink.emit({ step: "cluster delete", status: "skip", detail: `no cluster ${name}` });
    } catch (err) {
      if (!(err instanceof EnvironmentError)) throw err;
      sink.emit({ step: "cluster delete", status: "skip", detail: `kind is not installed, so there is no cluster to delete` });
    }
  } else if (config.cluster.enabled) {
    sink.emit({ step: "cluster delete", status: "skip", detail: `kept ${config.cluster.name} (--keep-cluster)` });
  }
  // The kind network dify-local made on Linux (kind keeps a network it finds): gone with the last node.
  if (clusterDeleted && (await runtime.removeNetworkIfOurs(KIND_NETWORK))) {
    sink.emit({ step: "network", status: "ok", detail: `removed ${KIND_NETWORK}` });
  }
  const volumeNames = stack.enabled.map((s) => s.settings(config).volume);
  const volumes = await runtime.managedVolumes(volumeNames);
  const foreignVolumes = await runtime.foreignVolumes(volumeNames);
  for (const v of foreignVolumes) {
    sink.emit({ step: `volume ${v}`, status: "skip", detail: `made outside dify-local; kept (docker volume rm ${v} deletes it)` });
  }
  const volumesRemoved: string[] = [];
  if (options.purge) {
    for (const v of volumes) {
      await step(sink, `volume ${v}`, () => runtime.removeVolume(v), () => "removed");
      volumesRemoved.push(v);
    }
  } else if (volumes.length > 0) {
    sink.emit({ step: "volumes", status: "skip", detail: `kept ${volumes.join(", ")} (--purge deletes them)` });
  }
  return {
    clusterDeleted,
    removed: ours.map((c) => c.name),
    leftAlone: foreign.map((c) => c.name),
    volumesRemoved,
    volumesKept: options.purge ? [] : volumes,
    volumesLeftAlone: foreignVolumes,
  };
}
