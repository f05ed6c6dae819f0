import { step, type EventSink } from "../../engine/index.js";
import type { Cluster } from "../cluster.js";
import type { HostAlias } from "../wiring.js";

/** What every cluster action gets: the cluster handle and how nodes and pods reach the host. */
export interface ClusterActionContext {
  cluster: Cluster;
  alias: HostAlias;
  /** Stops a wait at once (Ctrl-C). */
  signal?: AbortSignal | undefined;
  /** `up --patch-containerd`: add containerd's certs.d `config_path` to nodes that lack it (see checkContainerd). */
  patchContainerd?: boolean;
}

export interface ActionResult {
  /** What the action changed, in words; empty when everything was already right. */
  changes: string[];
  /** One line for the progress event. */
  detail: string;
}

/** One small named step of bringing the cluster up, as in kind's `create/actions`. */
export interface ClusterAction {
  /** The step name progress events carry ("cluster create"). */
  name: string;
  run(ctx: ClusterActionContext): Promise<ActionResult>;
}

/** Runs an action as a progress step; returns its changes. */
export async function runAction(sink: EventSink, action: ClusterAction, ctx: ClusterActionContext): Promise<string[]> {
  const result = await step(
    sink,
    action.name,
    () => action.run(ctx),
    (r) => r.detail,
  );
  return result.changes;
}

/** The detail line of an action that reports its changes, or that it had nothing to do. */
export function changed(changes: string[]): ActionResult {
  return { changes, detail: changes.length ? changes.join("; ") : "nothing to do" };
}
