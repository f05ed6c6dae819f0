import type { Check } from "../engine/index.js";
import { introduceExisting, runChecks, Stack, type StackOptions } from "../stack/index.js";

export interface VerifyResult {
  checks: Check[];
  ok: boolean;
  /** With `cluster.context`: the cluster the checks ran against. */
  cluster?: { context: string; server: string; namespace: string };
}

export interface VerifyOptions extends StackOptions {
  /**
   * With `cluster.context`: run the probe Job although the context's name suggests production
   * (prod, production, prd); without it `verify` refuses such a context before creating anything.
   */
  yes?: boolean;
}

/** Every verification of the seed as a named check. Library form of `dify-local verify`. */
export async function verify(options: VerifyOptions = {}): Promise<VerifyResult> {
  const stack = await Stack.open({ ...options, preloadClients: true });
  const existing = await introduceExisting(stack, { writes: "verify (its probe Job)", yes: options.yes ?? false });
  const cluster = existing
    ? { context: existing.context, server: (await existing.target()).server, namespace: existing.namespace }
    : undefined;
  const checks = await runChecks(stack);
  return { checks, ok: checks.every((c) => c.ok), ...(cluster ? { cluster } : {}) };
}
