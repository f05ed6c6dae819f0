import { z } from "zod";
import type { Check, Finding } from "../../engine/index.js";
import { messageOf } from "../../errors.js";
import type { ChartVersion, ValuesTree } from "../../helm/index.js";
import { failureText, networkFailure } from "../external.js";
import { ExternalProbeError } from "../minio/external-errors.js";
import type { RoundTripOptions } from "../minio/external.js";
import type { Endpoint } from "../service.js";
import { PROBE_TIMEOUT_MS } from "../service.js";
import { httpGet, type HttpAnswer } from "../../util/index.js";

/** An ECR registry host and path: `<12-digit account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository prefix>`. */
const ECR = /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z]{2}(?:-[a-z]+)+-\d)\.amazonaws\.com(\.cn)?(\/.*)?$/;

/** Account and region of an ECR prefix, or undefined when it is none. Pure. */
export function parseEcrPrefix(prefix: string): { account: string; region: string; host: string } | undefined {
  const m = ECR.exec(prefix);
  if (!m?.[1] || !m[2]) return undefined;
  return { account: m[1], region: m[2], host: prefix.split("/")[0] ?? prefix };
}

/** True when the host part of `prefix` is an ECR registry (of any shape, even a wrong one). */
function looksLikeEcr(prefix: string): boolean {
  return /\.dkr\.ecr[.-]/i.test(prefix.split("/")[0] ?? "");
}

/**
 * Why `prefix` cannot be an image repository prefix, or undefined: `host[:port]/path`, no scheme
 * (the chart prepends none: `insecure` says HTTP), no tag, no trailing slash. Pure.
 */
export function prefixProblem(prefix: string): string | undefined {
  if (prefix === "") return "must not be empty: the registry host and path plugin images are pushed under";
  if (/^[a-z]+:\/\//i.test(prefix)) return "must be host[:port]/path without a scheme (set insecure: true for a plain-HTTP registry)";
  if (prefix.endsWith("/")) return "must not end with /";
  const [host = "", ...path] = prefix.split("/");
  if (!/^[a-zA-Z0-9.-]+(:\d{1,5})?$/.test(host))
    return "must start with a registry host such as registry.example.com or registry.example.com:5000";
  // Docker's repository path components: lower-case, separated by . _ __ or -; no tag or digest.
  if (!path.every((part) => /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/.test(part))) {
    return "must continue with a repository path of lower-case letters, digits and . _ - (no tag, digest or upper case)";
  }
  return undefined;
}

/** Why `prefix` is no valid ECR prefix, or undefined. Pure; needs no network. */
export function ecrPrefixProblem(prefix: string): string | undefined {
  if (parseEcrPrefix(prefix)) return undefined;
  return "must be an ECR registry: <12-digit account>.dkr.ecr.<region>.amazonaws.com/<repository prefix>, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/dify-plugins";
}

const kubeName = z
  .string({ invalid_type_error: "must be a string" })
  .regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, "must be a Kubernetes name (lower-case letters, digits, - and .)");

/** `registry.external`'s keys before the rules that tie them together. */
const registryExternalShape = z
  .object({
    /** Where plugin images go: `host[:port]/path` (the chart's `plugin_connector.imageRepoPrefix`). */
    prefix: z.string({
      required_error: "is required: the registry host and path plugin images are pushed under",
      invalid_type_error: "must be a string",
    }),
    /** `ecr` for AWS ECR (IAM login), `docker` for any other registry (a pull secret or none). */
    type: z.enum(["docker", "ecr"], { errorMap: () => ({ message: 'must be "docker" or "ecr"' }) }).default("docker"),
    /** A plain-HTTP registry. */
    insecure: z.boolean({ invalid_type_error: "must be true or false" }).default(false),
    /** The connector's service account with an IAM role for ECR (IRSA); the chart's `customServiceAccount`. */
    customServiceAccount: kubeName.optional(),
    /** The plugin runners' service account (IRSA, to pull); the chart's `runnerServiceAccount`. */
    runnerServiceAccount: kubeName.optional(),
    /** A docker-registry Secret in the namespace with the registry's credentials; the chart's `imageRepoSecret`. */
    imageRepoSecret: kubeName.optional(),
  })
  .strict();

/** The `registry.external` section: an existing registry (ECR or another) instead of the registry container. */
export const registryExternalSchema = registryExternalShape.superRefine((r, ctx) => {
  const issue = (key: keyof typeof r, message: string) => ctx.addIssue({ code: z.ZodIssueCode.custom, path: [key], message });
  const problem = prefixProblem(r.prefix);
  if (problem) return issue("prefix", problem);
  if (r.type === "ecr") {
    const ecr = ecrPrefixProblem(r.prefix);
    if (ecr) issue("prefix", ecr);
    if (r.insecure) issue("insecure", "must be false for ECR: it speaks HTTPS only");
  } else if (looksLikeEcr(r.prefix)) {
    issue("type", 'must be "ecr" for an ECR registry: the plugin builder logs in to ECR through AWS IAM, not with a docker secret');
  }
});

/** `registry.external` as validated. */
export type RegistryExternal = z.output<typeof registryExternalSchema>;

/**
 * The Dify EE Helm values for an external registry (`plugin_connector`; the same keys in chart
 * 3.7 and 3.9). ECR gets `imageRepoType: ecr`, its region from the prefix, and
 * `insecureImageRepo: false` written out: ECR is HTTPS only, and a values file merged from the
 * local stack has `true` there. Service accounts and the pull secret appear when configured. Pure.
 */
export function registryValues(ext: RegistryExternal, _chart: ChartVersion): ValuesTree {
  const ecr = ext.type === "ecr" ? parseEcrPrefix(ext.prefix) : undefined;
  return {
    plugin_connector: {
      imageRepoType: ext.type,
      imageRepoPrefix: ext.prefix,
      insecureImageRepo: ext.type === "ecr" ? false : ext.insecure,
      ...(ecr ? { ecrRegion: ecr.region } : {}),
      ...(ext.customServiceAccount ? { customServiceAccount: ext.customServiceAccount } : {}),
      ...(ext.runnerServiceAccount ? { runnerServiceAccount: ext.runnerServiceAccount } : {}),
      ...(ext.imageRepoSecret ? { imageRepoSecret: ext.imageRepoSecret } : {}),
    },
  };
}

/** Where the registry answers (`/v2/`), from this machine and the cluster alike; the port written out. */
export function registryEndpoints(ext: RegistryExternal): Endpoint[] {
  const url = registryBase(ext);
  return [{ label: ext.type === "ecr" ? "Registry (ECR)" : "Registry (external)", host: url, cluster: url }];
}

/** Where the registry answers and its TLS in words, as `status` and `info` show an external service. Pure. */
export function registryTarget(ext: Pick<RegistryExternal, "prefix" | "insecure">): { host: string; port: number; tls: string } {
  const url = new URL(registryBase(ext));
  return { host: url.hostname, port: Number(url.port || (ext.insecure ? 80 : 443)), tls: ext.insecure ? "no TLS (insecure)" : "TLS" };
}

/** The registry's base URL: https unless `insecure`, the port explicit. */
export function registryBase(ext: Pick<RegistryExternal, "prefix" | "insecure">): string {
  const host = ext.prefix.split("/")[0] ?? ext.prefix;
  const tls = !ext.insecure;
  const url = new URL(`${tls ? "https" : "http"}://${host}`);
  return `${url.protocol}//${url.hostname}:${url.port || (tls ? "443" : "80")}`;
}

/**
 * Config-level findings for an external registry that need no network. ECR without a service
 * account (IRSA) or a pull secret: the connector then relies on the chart's default secret name
 * (`image-repo-secret`), which must exist and hold a token ECR expires after 12 hours. Pure.
 */
export function registryExternalFindings(ext: RegistryExternal): Finding[] {
  if (ext.type !== "ecr" || ext.customServiceAccount || ext.runnerServiceAccount || ext.imageRepoSecret) return [];
  return [
    {
      id: "registry.external.ecr-credentials",
      severity: "warning",
      what: "registry.external is ECR without IAM service accounts or a pull secret",
      why: "the plugin builder pushes and the runners pull through AWS IAM; without a role (IRSA) on their service accounts, or a docker-registry secret, plugin builds fail to push",
      fix: "set registry.external.customServiceAccount and runnerServiceAccount to service accounts bound to an IAM role with ECR push/pull (IRSA), or registry.external.imageRepoSecret",
    },
  ];
}

/**
 * One real round trip to a plain registry, `GET /v2/` (https unless `insecure`): what it answered
 * (200, or 401 asking for credentials: reachable, the credentials are the cluster's). Throws an
 * {@link ExternalProbeError} naming the URL: `unreachable`, `dns`, `tls` (with the `insecure`
 * hint when the registry speaks plain HTTP), or `other` for an answer no registry gives.
 */
export async function probeRegistry(ext: RegistryExternal, options: RoundTripOptions = {}): Promise<string> {
  const url = `${registryBase(ext)}/v2/`;
  let res: HttpAnswer;
  try {
    res = await httpGet(url, { timeoutMs: options.timeoutMs ?? PROBE_TIMEOUT_MS, signal: options.signal });
  } catch (err) {
    if (options.signal?.aborted) throw err;
    const net = networkFailure(err);
    if (!net || net.kind === "server") throw new ExternalProbeError("other", `registry at ${url}: ${messageOf(err)}`, { cause: err });
    const { what, hint } = failureText(net, "registry.external");
    const plain = net.kind === "tls" && !ext.insecure ? "; a registry speaking plain HTTP needs registry.external.insecure: true" : "";
    throw new ExternalProbeError(net.kind, `registry at ${url}: ${what}`, { hint: hint + plain, cause: err });
  }
  if (res.status === 200) return "GET /v2/ answered 200 (no credentials needed)";
  // The Registry API's way of saying "I am a registry; log in": reachable, credentials unchecked.
  if (res.status === 401 && /bearer|basic/i.test(res.headers["www-authenticate"] ?? "")) {
    return "GET /v2/ asks for credentials (401): reachable; the cluster's pull secret must hold them";
  }
  throw new ExternalProbeError("other", `registry at ${url}: GET /v2/ answered ${res.status}, which no Docker registry does`, {
    hint: "check registry.external.prefix: its host must be the registry itself",
  });
}

/**
 * `verify`'s check of an external registry. ECR: the prefix's form only, with no network (its
 * login goes through AWS IAM, which only the cluster's service accounts have). Any other: one
 * `GET /v2/` round trip, https unless `insecure`.
 */
export async function registryChecks(ext: RegistryExternal, options: RoundTripOptions = {}): Promise<Check[]> {
  if (ext.type === "ecr") {
    const problem = ecrPrefixProblem(ext.prefix);
    const ecr = parseEcrPrefix(ext.prefix);
    const what = `registry.external.prefix is an ECR repository prefix`;
    return [
      problem || !ecr
        ? { id: "registry.external.ecr", ok: false, what, detail: problem ?? "not an ECR prefix", fix: "set registry.external.prefix" }
        : {
            id: "registry.external.ecr",
            ok: true,
            what,
            detail: `account ${ecr.account}, region ${ecr.region} (credentials are the cluster's: not checked from here)`,
          },
    ];
  }
  const what = `registry at ${registryBase(ext)} answers the Registry API (/v2/)`;
  try {
    return [{ id: "registry.external.v2", ok: true, what, detail: await probeRegistry(ext, options) }];
  } catch (err) {
    const hint = err instanceof ExternalProbeError ? err.hint : undefined;
    return [
      { id: "registry.external.v2", ok: false, what, detail: messageOf(err), fix: hint ?? "check registry.external.prefix and insecure" },
    ];
  }
}
