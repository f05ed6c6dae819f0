import type { Check } from "../engine/index.js";
import { runChecks, Stack, type StackOptions } from "../stack/index.js";

export interface VerifyResult {
  checks: Check[];
  ok: boolean;
}

/** Every verification of the seed as a named check. Library form of `dify-local verify`. */
export async function verify(options: StackOptions = {}): Promise<VerifyResult> {
  const checks = await runChecks(await Stack.open({ ...options, preloadClients: true }));
  return { checks, ok: checks.every((c) => c.ok) };
}
