import {
  LABELS,
  describeMount,
  mountAt,
  sameMount,
  specDifferences,
  specHash,
  widerBindings,
  type ContainerSpec,
  type ObservedContainer,
} from "../runtime/index.js";

/**
 * What `up` will do with one container:
 * - create: it does not exist;
 * - start: it exists as wanted but is stopped;
 * - recreate: ours, but its spec changed (its data stays where it is);
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
  /** The container to make or keep: the config's, with the data where it already lives. */
  spec: ContainerSpec;
  observed: ObservedContainer | undefined;
  /** Where the service's data lives now (undefined: nowhere yet) and where it will live after the action. */
  data: { now: string | undefined; after: string };
  /** What the user should know though nothing is wrong (published beyond loopback). */
  warnings: string[];
  /**
   * Data to carry over on a recreate: the replaced container's data lives at the host path
   * `device` (a bind mount, or another volume's directory), so the config's volume is created as a
   * binding of that path: the new container sees the same files, and they survive `down` and `up`.
   */
  carry?: { device: string; from: string };
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

function dataOf(spec: ContainerSpec): string {
  const v = spec.volumes[0];
  return v ? describeMount(v) : "no data volume";
}

function planOne(spec: ContainerSpec, c: ObservedContainer | undefined, options: PlanOptions): PlanItem {
  const base = {
    component: spec.component,
    container: spec.name,
    spec,
    observed: c,
    data: { now: c ? dataOf(spec) : undefined, after: dataOf(spec) },
    warnings: [],
  };
  if (!c) return { ...base, action: "create", reason: "does not exist" };
  return c.labels[LABELS.managed] === "true" ? planOurs(base, c, options) : planForeign(base, c, options);
}

type Base = Omit<PlanItem, "action" | "reason">;

function planOurs(base: Base, c: ObservedContainer, options: PlanOptions): PlanItem {
  const spec = base.spec;
  if (c.labels[LABELS.component] !== spec.component) {
    return { ...base, action: "conflict", reason: `the name belongs to dify-local's ${c.labels[LABELS.component] ?? "unknown"} container` };
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

/**
 * A container made outside dify-local: adopted when it means the same as the config, whatever the
 * order of its arguments. Its data may live elsewhere than the config's volume (a compose file's
 * `./data/redis`, the registry's anonymous volume): adopted, it stays there; recreated, the
 * config's volume is made as a binding of those very files (see {@link PlanItem.carry}).
 */
function planForeign(base: Base, c: ObservedContainer, options: PlanOptions): PlanItem {
  const spec = base.spec;
  const diffs = specDifferences(spec, c, { strict: false, ...(options.mask ? { mask: options.mask } : {}) });
  const wider = widerBindings(spec, c);
  const warnings = wider.length
    ? [`${c.name} is published on ${wider.join(", ")}, beyond ${spec.ports[0]?.hostIp ?? "loopback"}: reachable from your network`]
    : [];
  const wanted = spec.volumes[0];
  const found = wanted ? mountAt(c, wanted.target) : undefined;
  const elsewhere = found && wanted && !sameMount(found, wanted) ? found : undefined;
  const data = { now: found ? describeMount(found) : "nowhere (no mount: inside the container)", after: base.data.after };
  if (diffs.length === 0) {
    const kept = { ...base, warnings, data: { now: data.now, after: data.now } };
    if (!c.running)
      return { ...kept, action: "start", reason: `made outside dify-local, matches the config, is ${c.state}: adopted and started` };
    return { ...kept, action: "adopt", reason: "made outside dify-local and matches the config: adopted as is" };
  }
  if (!options.recreate)
    return { ...base, data, action: "conflict", reason: `made outside dify-local and differs from the config: ${diffs.join("; ")}` };
  const reason = `made outside dify-local and differs (${diffs.join("; ")}); --recreate given`;
  if (!elsewhere?.source || !wanted) return { ...base, data, action: "recreate", reason };
  const carry = { device: elsewhere.source, from: describeMount(elsewhere) };
  return {
    ...base,
    carry,
    data: { now: data.now, after: `${describeMount(wanted)}, bound to the same files (${elsewhere.source})` },
    action: "recreate",
    reason,
  };
}
