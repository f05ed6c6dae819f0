import { OperationError, messageOf } from "../errors.js";
import { catalog, probeHost, tags } from "../services/index.js";
import { resolveConfig, type StackOptions } from "../stack/index.js";

export interface RegistryRepository {
  name: string;
  tags: string[];
}

/** The local registry's repositories and their tags (the seed's "List Images After Plugin Install"). */
export async function registryList(options: StackOptions = {}): Promise<{ registry: string; repositories: RegistryRepository[] }> {
  const { config } = await resolveConfig(options);
  const target = { host: probeHost(config), settings: config.registry };
  const registry = `${target.host}:${config.registry.port}`;
  try {
    const names = await catalog(target);
    const repositories = await Promise.all(names.map(async (name) => ({ name, tags: await tags(target, name) })));
    return { registry, repositories };
  } catch (err) {
    throw new OperationError(`the local registry at http://${registry} did not answer: ${messageOf(err)}`, {
      hint: "start it with `dify-local up` (dify-local status shows its state)",
      cause: err,
    });
  }
}
