import { OperationError, UserError, messageOf } from "../errors.js";
import { catalog, parseEcrPrefix, probeHost, registryBase, tags, type RegistryExternal, type RegistryTarget } from "../services/index.js";
import { resolveConfig, type StackOptions } from "../stack/index.js";

export interface RegistryRepository {
  name: string;
  tags: string[];
}

/**
 * The registry's repositories and their tags (the seed's "List Images After Plugin Install"): the
 * local registry's, or an external plain registry's under `registry.external.prefix` (through its
 * Registry API, anonymously). ECR is refused with the AWS CLI command that lists it.
 */
export async function registryList(options: StackOptions = {}): Promise<{ registry: string; repositories: RegistryRepository[] }> {
  const { config } = await resolveConfig(options);
  if (config.registry.external) return externalList(config.registry.external);
  const target = { host: probeHost(config), settings: config.registry };
  const registry = `${target.host}:${config.registry.port}`;
  try {
    return { registry, repositories: await list(target) };
  } catch (err) {
    throw new OperationError(`the local registry at http://${registry} did not answer: ${messageOf(err)}`, {
      hint: "start it with `dify-local up` (dify-local status shows its state)",
      cause: err,
    });
  }
}

async function list(target: RegistryTarget, under = ""): Promise<RegistryRepository[]> {
  const names = (await catalog(target)).filter((name) => name.startsWith(under));
  return Promise.all(names.map(async (name) => ({ name, tags: await tags(target, name) })));
}

/** An external registry's repositories under the prefix's path; refused for ECR and for a registry that wants credentials. */
async function externalList(ext: RegistryExternal): Promise<{ registry: string; repositories: RegistryRepository[] }> {
  const ecr = ext.type === "ecr" ? parseEcrPrefix(ext.prefix) : undefined;
  if (ext.type === "ecr") {
    const path = ext.prefix.split("/").slice(1).join("/");
    throw new UserError(
      `registry ls does not list ECR (registry.external.type: ecr): ECR has no Registry API catalog; its login is AWS IAM's`,
      {
        key: "registry.external.type",
        hint: `aws ecr describe-repositories --region ${ecr?.region ?? "<region>"}${path ? ` (repositories under ${path}/)` : ""}, then aws ecr describe-images --repository-name <repository> --region ${ecr?.region ?? "<region>"}`,
      },
    );
  }
  const url = registryBase(ext);
  const path = ext.prefix.split("/").slice(1).join("/");
  try {
    return { registry: ext.prefix, repositories: await list({ host: "", settings: { port: 0 }, url }, path ? `${path}/` : "") };
  } catch (err) {
    if ((err as { status?: unknown }).status === 401) {
      throw new OperationError(`the registry at ${url} asks for credentials to list its repositories; dify-local holds none for it`, {
        hint: "list them with a tool that logs in (crane ls, skopeo list-tags, or the registry's own UI); the cluster's pull secret holds the credentials plugins use",
        cause: err,
      });
    }
    throw new OperationError(`the registry at ${url} (registry.external) did not answer: ${messageOf(err)}`, {
      hint: "`dify-local verify` checks registry.external (prefix, insecure)",
      cause: err,
    });
  }
}
