import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";
import type { KubeConfig } from "@kubernetes/client-node";
import { EnvironmentError, UserError, messageOf } from "../../errors.js";
import { loadK8s } from "../k8s-client.js";

/** The cluster a kubeconfig context talks to, as printed before anything is done. */
export interface ContextTarget {
  context: string;
  /** The API server's URL. */
  server: string;
  /** The kubeconfig's name for the cluster. */
  cluster: string;
}

/** The kubeconfig files kubectl reads: KUBECONFIG's list (in order), else ~/.kube/config. */
export function kubeconfigFiles(env: NodeJS.ProcessEnv): string[] {
  const list = (env.KUBECONFIG ?? "").split(delimiter).filter(Boolean);
  return list.length > 0 ? list : [join(env.HOME ?? homedir(), ".kube", "config")];
}

/**
 * The kubeconfig as kubectl merges it: every file of KUBECONFIG (a missing one skipped, as kubectl
 * does), the first file to name a context, cluster or user winning. Parsed by
 * @kubernetes/client-node (loaded here, on first use); an unreadable file is an EnvironmentError
 * naming it.
 */
export async function loadKubeconfig(env: NodeJS.ProcessEnv): Promise<KubeConfig> {
  const k8s = await loadK8s();
  const merged = new k8s.KubeConfig();
  for (const file of kubeconfigFiles(env)) {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw new EnvironmentError(`cannot read the kubeconfig ${file}: ${messageOf(err)}`, { hint: "check KUBECONFIG" });
    }
    const kc = new k8s.KubeConfig();
    try {
      kc.loadFromString(text);
    } catch (err) {
      throw new EnvironmentError(`the kubeconfig ${file} is not valid: ${messageOf(err)}`, {
        hint: "kubectl config view shows what kubectl reads",
      });
    }
    for (const c of kc.getClusters()) if (!merged.getCluster(c.name)) merged.addCluster(c);
    for (const u of kc.getUsers()) if (!merged.getUser(u.name)) merged.addUser(u);
    for (const c of kc.getContexts()) if (!merged.getContextObject(c.name)) merged.addContext(c);
  }
  return merged;
}

/**
 * Selects `context` in the merged kubeconfig and says which cluster it talks to. A context that
 * does not exist is bad configuration (exit 2) listing the contexts there are.
 */
export function selectContext(kc: KubeConfig, context: string, env: NodeJS.ProcessEnv): ContextTarget {
  const ctx = kc.getContextObject(context);
  if (!ctx) {
    const names = kc.getContexts().map((c) => c.name);
    const files = kubeconfigFiles(env).join(delimiter);
    throw new UserError(
      `cluster.context: the kubeconfig has no context "${context}" (read ${files}); ` +
        (names.length ? `its contexts: ${names.join(", ")}` : "it has no contexts"),
      {
        key: "cluster.context",
        hint: "set cluster.context to one of them (kubectl config get-contexts), or point KUBECONFIG at the file that has it",
      },
    );
  }
  const cluster = kc.getCluster(ctx.cluster);
  if (!cluster)
    throw new UserError(
      `cluster.context: the context "${context}" names the cluster "${ctx.cluster}", which the kubeconfig does not have`,
      {
        key: "cluster.context",
        hint: "kubectl config view shows the kubeconfig's clusters",
      },
    );
  kc.setCurrentContext(context);
  return { context, server: cluster.server, cluster: cluster.name };
}
