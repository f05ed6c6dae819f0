import type { Check } from "../engine/index.js";
import { introduceExisting, runChecks, Stack, type StackOptions } from "../stack/index.js";

export interface VerifyResult {
  checks: Check[];
  ok: boolean;
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
  await introduceExisting(stack, { writes: "verify (its probe Job)", yes: options.yes ?? false });
  const checks = await runChecks(stack);
  return { checks, ok: checks.every((c) => c.ok) };
}
