import { endpointAddress, type ExistingCluster, type ProbeTarget } from "../cluster/index.js";
import { productionLike } from "../config/index.js";
import { step } from "../engine/index.js";
import { UserError } from "../errors.js";
import type { Stack } from "./context.js";

/**
 * Every address the cluster is given for the enabled services (each endpoint's `cluster` side:
 * publicHost for this machine's services, the external address for an external one), which
 * `verify`'s probe Job connects to.
 */
export function clusterTargets(stack: Stack): ProbeTarget[] {
  return stack.enabled.flatMap((service) =>
    service.endpoints(stack.config).flatMap((e) => {
      const address = endpointAddress(e.cluster);
      return address ? [{ service: service.name, label: e.label, ...address }] : [];
    }),
  );
}

/**
 * Before a command does anything in an existing cluster: says which cluster the context talks to
 * (an event: context, server URL, namespace), then, when the command would change something there
 * (`writes`), refuses a context whose name suggests production unless `yes`. A context missing
 * from the kubeconfig is a UserError listing the ones there are.
 */
export async function introduceExisting(
  stack: Stack,
  options: { writes: string | undefined; yes: boolean },
): Promise<ExistingCluster | undefined> {
  const existing = stack.existing();
  if (!existing) return undefined;
  await step(
    stack.sink,
    "cluster",
    () => existing.target(),
    (t) => `context ${t.context} at ${t.server} (namespace ${existing.namespace}; kind is not used)`,
  );
  if (options.writes && !options.yes && productionLike(existing.context))
    throw new UserError(
      `cluster.context ${existing.context} looks like a production cluster (its name has prod, production or prd as a word): ` +
        `${options.writes} would change namespace ${existing.namespace} there`,
      { key: "--yes", hint: "rerun with --yes if that is the cluster you mean; nothing was changed" },
    );
  return existing;
}
