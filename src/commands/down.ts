import { step } from "../engine/index.js";
import { LABELS } from "../runtime/index.js";
import { enabledComponents } from "../services/index.js";
import { openContext, type CommandOptions } from "./context.js";

export interface DownOptions extends CommandOptions {
  /** Also delete the data volumes dify-local made. The CLI asks for confirmation first. */
  purge?: boolean;
}

export interface DownResult {
  removed: string[];
  /** Containers with the seed's names that dify-local did not make; left alone. */
  leftAlone: string[];
  volumesRemoved: string[];
  volumesKept: string[];
}

/**
 * Removes the containers dify-local made (labelled as its own). Data volumes stay unless `purge`.
 * Containers made by hand under the seed's names are never removed.
 */
export async function down(options: DownOptions = {}): Promise<DownResult> {
  const ctx = await openContext(options);
  const { runtime, sink, config } = ctx;
  const names = enabledComponents(config).map((c) => config[c.name].container);
  const observed = await runtime.observe(names);
  const ours = [...observed.values()].filter((c) => c.labels[LABELS.managed] === "true");
  const foreign = [...observed.values()].filter((c) => c.labels[LABELS.managed] !== "true");
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
  const volumes = await runtime.managedVolumes();
  const volumesRemoved: string[] = [];
  if (options.purge) {
    for (const v of volumes) {
      await step(sink, `volume ${v.name}`, () => runtime.removeVolume(v.name), () => "removed");
      volumesRemoved.push(v.name);
    }
  } else if (volumes.length > 0) {
    sink.emit({ step: "volumes", status: "skip", detail: `kept ${volumes.map((v) => v.name).join(", ")} (--purge deletes them)` });
  }
  return {
    removed: ours.map((c) => c.name),
    leftAlone: foreign.map((c) => c.name),
    volumesRemoved,
    volumesKept: options.purge ? [] : volumes.map((v) => v.name),
  };
}
