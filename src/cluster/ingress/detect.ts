import type { KubeApi } from "../kube.js";
import { installedClass, readRecord, type IngressRecord } from "./install.js";

/** What the cluster has for the configured class: the IngressClass, and dify-local's record when it installed one. */
export interface IngressState {
  installed: { name: string; controller: string } | undefined;
  record: IngressRecord | undefined;
  /** An IngressClass of that name that dify-local did not install (the tutorial's init.sh, or your own): kept, never re-applied. */
  foreign: boolean;
}

export async function ingressState(kube: KubeApi, className: string): Promise<IngressState> {
  const [installed, record] = await Promise.all([installedClass(kube, className), readRecord(kube)]);
  return { installed, record, foreign: installed !== undefined && record === undefined };
}
