import { LABELS, specDifferences, specHash, type ContainerSpec, type ObservedContainer } from "../runtime/index.js";

/**
 * What `up` will do with one container:
 * - create: it does not exist;
 * - start: it exists as wanted but is stopped;
 * - recreate: ours, but its spec changed (its named volume is kept);
 * - adopt: made outside dify-local (the seed's own commands) and matches the config: used as is;
 * - keep: ours, running, unchanged;
 * - conflict: a container with the name exists, was not made by dify-local and differs.
 */
export type Action = "create" | "start" | "recreate" | "adopt" | "keep" | "conflict";

export interface PlanItem {
  component: string;
  container: string;
  action: Action;
  reason: string;
  spec: ContainerSpec;
  observed: ObservedContainer | undefined;
}

export interface Plan {
  items: PlanItem[];
}

/** Actions that change the machine. A converged stack plans none of them. */
export function isChange(action: Action): boolean {
  return action === "create" || action === "start" || action === "recreate";
}

export function changesOf(plan: Plan): PlanItem[] {
  return plan.items.filter((i) => isChange(i.action));
}

export interface PlanOptions {
  /** Replace containers made outside dify-local that differ from the config (`--recreate`). */
  recreate?: boolean;
  /** Image ids just pulled (`--pull always`), by reference: a container of ours on another id is recreated. */
  pulled?: ReadonlyMap<string, string>;
  /** Masks known secrets in the reasons (the command's Redactor); commands are shown through it. */
  mask?: (text: string) => string;
}

/** Pure: desired specs + what Docker has -> what to do, with the reason in words. */
export function planFor(
  specs: readonly ContainerSpec[],
  observed: ReadonlyMap<string, ObservedContainer>,
  options: PlanOptions = {},
): Plan {
  return { items: specs.map((spec) => planOne(spec, observed.get(spec.name), options)) };
}

function planOne(spec: ContainerSpec, c: ObservedContainer | undefined, options: PlanOptions): PlanItem {
  const base = { component: spec.component, container: spec.name, spec, observed: c };
  if (!c) return { ...base, action: "create", reason: "does not exist" };
  const ours = c.labels[LABELS.managed] === "true";
  if (ours) {
    if (c.labels[LABELS.component] !== spec.component) {
      return {
        ...base,
        action: "conflict",
        reason: `the name belongs to dify-local's ${c.labels[LABELS.component] ?? "unknown"} container`,
      };
    }
    if (c.labels[LABELS.specHash] !== specHash(spec)) {
      const diffs = specDifferences(spec, c, { strict: true, ...(options.mask ? { mask: options.mask } : {}) });
      return { ...base, action: "recreate", reason: diffs.length ? diffs.join("; ") : "the container spec changed" };
    }
    const pulled = options.pulled?.get(spec.image);
    if (pulled !== undefined && pulled !== c.imageId) return { ...base, action: "recreate", reason: `a newer ${spec.image} was pulled` };
    if (!c.running) return { ...base, action: "start", reason: `is ${c.state}` };
    return { ...base, action: "keep", reason: "running, spec unchanged" };
  }
  const diffs = specDifferences(spec, c, { strict: false, ...(options.mask ? { mask: options.mask } : {}) });
  if (diffs.length === 0) {
    if (!c.running)
      return { ...base, action: "start", reason: `made outside dify-local, matches the config, is ${c.state}: adopted and started` };
    return { ...base, action: "adopt", reason: "made outside dify-local and matches the config: adopted as is" };
  }
  if (options.recreate)
    return { ...base, action: "recreate", reason: `made outside dify-local and differs (${diffs.join("; ")}); --recreate given` };
  return { ...base, action: "conflict", reason: `made outside dify-local and differs from the config: ${diffs.join("; ")}` };
}
