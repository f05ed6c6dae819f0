import { readChartSecrets, userConfigDir } from "../helm/index.js";
import type { ObservedContainer } from "../runtime/index.js";
import type { Service, StackConfig } from "../services/index.js";
import { Redactor } from "../util/index.js";
import type { StackOptions } from "./context.js";

/**
 * Teaches `redactor` every secret of the services: the configured ones and, with `observed`, the
 * ones their containers really have (a container made with an older password, or by hand).
 */
export function learnSecrets(
  redactor: Redactor,
  services: readonly Service[],
  config: StackConfig,
  observed?: ReadonlyMap<string, ObservedContainer>,
): void {
  for (const service of services) {
    redactor.add(...service.secrets(config, observed?.get(service.settings(config).container)));
  }
}

/**
 * A public command with its one redaction point: it runs with `options.redactor` (or a new one),
 * which knows the chart secrets of `secrets.json` from the start and learns the configured and
 * live secrets as the command opens its stack; events go out through it (see `Stack.open`), and
 * an error the command throws is masked with it before it reaches the caller. The CLI passes its
 * own redactor, so what it prints afterwards is masked with everything the command learnt.
 */
export function redacting<F extends (options: never) => Promise<unknown>>(command: F): F {
  const run = command as unknown as (options: StackOptions) => Promise<unknown>;
  const wrapped = async (options: StackOptions & { secretsDir?: string } = {}): Promise<unknown> => {
    const redactor = options.redactor ?? new Redactor();
    redactor.add(...(await readChartSecrets(options.secretsDir ?? userConfigDir(options.env ?? process.env))));
    try {
      return await run({ ...options, redactor });
    } catch (err) {
      throw redactor.redactError(err);
    }
  };
  return wrapped as unknown as F;
}
