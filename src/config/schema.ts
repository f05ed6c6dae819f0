import { isIP } from "node:net";
import { z } from "zod";
import { BUILTIN_SERVICES, image, ipv4, port, type Service, type StackConfig } from "../services/index.js";
import { localServices } from "./cluster-mode.js";

/**
 * The configuration schema: the global settings, one section per service (each service module
 * owns its section and the seed's defaults), and the cluster. `dify-local up` with no file
 * reproduces the seed exactly. Objects are strict: an unknown key is an error naming its path.
 */

const proxyUrl = z.string().regex(/^https?:\/\/[^\s/]+(\/\S*)?$/, "must be an http:// or https:// URL such as http://proxy.example:3128");

/** A timeout in whole seconds, from one second to an hour. */
const seconds = z
  .number({ invalid_type_error: "must be a number of seconds" })
  .int("must be a whole number of seconds")
  .min(1, "must be 1 to 3600 seconds")
  .max(3600, "must be 1 to 3600 seconds");

/**
 * kind's rule for cluster names (`^[a-z0-9.-]+$`, pkg/internal/apis/config/validate.go) and its
 * length limit (50: the control plane's container and host name is `<name>-control-plane`, and a
 * host name has at most 64 characters). Starting with a letter or digit keeps the nodes' container
 * names valid Docker names.
 */
const clusterName = z
  .string({ invalid_type_error: "must be a string" })
  .regex(/^[a-z0-9][a-z0-9.-]*$/, "must be a kind cluster name: lower-case letters, digits, . and -, starting with a letter or digit")
  .max(50, "must be at most 50 characters (kind names the control plane's container <name>-control-plane, a host name of at most 64)");

/** A Kubernetes object name such as an IngressClass's (RFC 1123 subdomain). */
const k8sName = z
  .string({ invalid_type_error: "must be a string" })
  .max(253, "must be at most 253 characters")
  .regex(
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
    "must be a Kubernetes name: lower-case letters, digits, - and .",
  );

/**
 * The ingress controller `up` installs into the cluster it manages. `nginx`: ingress-nginx's kind
 * manifest (by default the pinned upstream release; `manifest` names another URL or a local file);
 * `none`: bring your own. `className` is the IngressClass the rendered Helm values use.
 */
export const ingressSchema = z
  .object({
    controller: z.enum(["nginx", "none"], { errorMap: () => ({ message: "must be nginx or none" }) }).default("nginx"),
    /** An http(s) URL or a local file path; unset: the pinned ingress-nginx release. */
    manifest: z
      .string({ invalid_type_error: "must be a URL or a file path" })
      .min(1, "must be a URL or a file path")
      .refine(
        (v) => !/^[a-z][a-z0-9+.-]*:\/\//i.test(v) || /^https?:\/\/\S+$/i.test(v),
        "must be an http:// or https:// URL or a file path",
      )
      .optional(),
    /** The manifest's expected sha256 (hex); unset: the pinned digest for the default manifest, none for another. */
    sha256: z
      .string({ invalid_type_error: "must be a string" })
      .regex(/^[a-f0-9]{64}$/, "must be a sha256 digest: 64 lower-case hex digits")
      .optional(),
    className: k8sName.default("nginx"),
  })
  .strict();

/** A kubeconfig context's name: kubectl allows almost anything (EKS uses ARNs); no blanks or control characters. */
const contextName = z
  .string({ invalid_type_error: "must be a kubeconfig context name" })
  .min(1, "must be a kubeconfig context name (kubectl config get-contexts lists them)")
  .max(253, "must be at most 253 characters")
  // eslint-disable-next-line no-control-regex -- control characters are what this refuses
  .regex(/^[^\s\u0000-\u001f\u007f]+$/, "must be a kubeconfig context name without spaces or control characters");

/** A namespace name: an RFC 1123 label, as the API server requires. */
const namespaceName = z
  .string({ invalid_type_error: "must be a string" })
  .max(63, "must be at most 63 characters")
  .regex(
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
    "must be a Kubernetes namespace name: lower-case letters, digits and -, starting and ending with a letter or digit",
  );

/**
 * The probe Job's image in an existing cluster: small, with a shell and `nc` (busybox's). Pinned
 * to a release, so `verify` runs the same probe everywhere.
 */
export const PROBE_IMAGE = "busybox:1.36.1";

/** A host name or an IP address, without a scheme or a port. */
const publicHost = z
  .string({ invalid_type_error: "must be a host name or an IP address" })
  .max(253, "must be at most 253 characters")
  .refine(
    (v) => isIP(v) !== 0 || /^(?=.*[a-zA-Z])[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?)*$/.test(v),
    "must be a host name or an IP address that the cluster can reach this machine at, without a scheme or a port (such as 10.0.0.5 or laptop.corp.example)",
  );

export const clusterSchema = z
  .object({
    enabled: z.boolean({ invalid_type_error: "must be true or false" }).default(true),
    /**
     * An existing cluster's kubeconfig context (KUBECONFIG honoured) instead of kind: no kind, no
     * node, DNS or ingress changes; dify-local works only inside `namespace`.
     */
    context: contextName.optional(),
    /** The namespace dify-local works in on an existing cluster (created when missing, never deleted). */
    namespace: namespaceName.default("dify"),
    /** The image of `verify`'s probe Job on an existing cluster: a shell and `nc`. */
    probeImage: image.default(PROBE_IMAGE),
    /** How long `verify`'s probe Job may take, image pull included, in seconds. */
    probeTimeout: z
      .number({ invalid_type_error: "must be a number of seconds" })
      .int("must be a whole number of seconds")
      .min(5, "must be 5 to 600 seconds")
      .max(600, "must be 5 to 600 seconds")
      .default(120),
    name: clusterName.default("dify-ee-kind"),
    workers: z
      .number({ invalid_type_error: "must be a number" })
      .int("must be a whole number")
      .min(0, "must be 0 to 10")
      .max(10, "must be 0 to 10")
      .default(1),
    /** kind node image; empty means kind's own default for the installed kind version. */
    nodeImage: image.optional(),
    httpPort: port.default(80),
    httpsPort: port.default(443),
    /** How long to wait for every node to be Ready, in seconds. */
    readyTimeout: seconds.default(300),
    /** An HTTP proxy the nodes pull through (default: HTTP_PROXY / HTTPS_PROXY / NO_PROXY of the environment). */
    proxy: z
      .object({
        http: proxyUrl.optional(),
        https: proxyUrl.optional(),
        noProxy: z
          .array(
            z
              .string()
              .min(1)
              .regex(/^[^\s,]+$/, "must be one host, domain or CIDR without spaces or commas"),
          )
          .optional(),
      })
      .strict()
      .default({}),
    ingress: ingressSchema.default({}),
  })
  .strict();

const globalShape = {
  /** Host address the published ports bind to. */
  bind: ipv4.default("127.0.0.1"),
  /** How long to wait for each service to answer, in seconds. */
  readyTimeout: seconds.default(120),
  /**
   * The services' passwords and keys: `seed`, the seed's (devpassword...); `generate`, random ones
   * kept 0600 in the user's config directory (see `up --generate-passwords`). Unset: the generated
   * set when one was made for this configuration's containers, else the seed's.
   */
  credentials: z.enum(["seed", "generate"]).optional(),
  /**
   * With `cluster.context`: the address the existing cluster reaches this machine's services at,
   * given to the cluster (values, the probe Job) instead of host.docker.internal.
   */
  publicHost: publicHost.optional(),
  cluster: clusterSchema.default({}),
};

type Sections<T extends Record<string, Service>> = { [K in keyof T]: z.ZodDefault<T[K]["schema"]> };

function sectionsOf<T extends Record<string, Service>>(services: T): Sections<T> {
  return Object.fromEntries(Object.entries(services).map(([key, service]) => [key, service.schema.default({})])) as Sections<T>;
}

type WithCluster = StackConfig & { cluster: z.infer<typeof clusterSchema> };

/**
 * Two services on one host port, or one container or volume name twice, can never converge.
 * The ports come from each service's own declaration, so a new service is checked too.
 */
function uniqueness(services: readonly Service[]) {
  return (cfg: WithCluster, ctx: z.RefinementCtx): void => {
    const enabled = services.filter((s) => s.settings(cfg).enabled);
    const ports = enabled.flatMap((s) => s.hostPorts(cfg));
    if (cfg.cluster.enabled && cfg.cluster.context === undefined)
      ports.push({ key: "cluster.httpPort", port: cfg.cluster.httpPort }, { key: "cluster.httpsPort", port: cfg.cluster.httpsPort });
    const seen = new Map<number, string>();
    for (const { key, port: p } of ports) {
      const other = seen.get(p);
      if (other) ctx.addIssue({ code: z.ZodIssueCode.custom, path: key.split("."), message: `uses port ${p}, already used by ${other}` });
      else seen.set(p, key);
    }
    for (const field of ["container", "volume"] as const) {
      const names = new Map<string, string>();
      for (const service of services) {
        const name = service.settings(cfg)[field];
        const other = names.get(name);
        if (other)
          ctx.addIssue({ code: z.ZodIssueCode.custom, path: [service.name, field], message: `"${name}" is already used by ${other}` });
        else names.set(name, `${service.name}.${field}`);
      }
    }
  };
}

/**
 * An existing cluster (`cluster.context`) cannot reach containers on this machine unless the user
 * says where (`publicHost`); `publicHost` means nothing to a kind cluster, which reaches the host at
 * host.docker.internal.
 */
function existingCluster(services: readonly Service[]) {
  return (cfg: WithCluster & { publicHost?: string }, ctx: z.RefinementCtx): void => {
    if (!cfg.cluster.enabled) return;
    if (cfg.cluster.context === undefined) {
      if (cfg.publicHost !== undefined)
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: ["publicHost"],
          message:
            "is for an existing cluster (cluster.context): a kind cluster reaches this machine at host.docker.internal; remove publicHost or set cluster.context",
        });
      return;
    }
    const local = localServices(services, cfg);
    if (local.length === 0 || cfg.publicHost !== undefined) return;
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      path: ["cluster", "context"],
      message:
        `cannot be used with services running as containers on this machine (${local.map((s) => s.name).join(", ")}): ` +
        "pods in a remote cluster cannot reach this laptop's containers at host.docker.internal. " +
        "Set publicHost to an address the cluster can reach this machine at (its ports must be published there: bind), " +
        "or point those services at existing ones (external), or disable them (enabled: false)",
    });
  };
}

/** The configuration schema for a list of services (the built-ins, or those plus a caller's own). */
export function configSchemaFor<T extends Record<string, Service>>(services: T) {
  return (
    z
      .object({ ...globalShape, ...sectionsOf(services) })
      .strict()
      // For a caller's list the output type is generic; every section and the global keys are there.
      .superRefine((cfg, ctx) => {
        uniqueness(Object.values(services))(cfg as unknown as WithCluster, ctx);
        existingCluster(Object.values(services))(cfg as unknown as WithCluster, ctx);
      })
  );
}

/** The configuration schema with the built-in services. */
export const configSchema = configSchemaFor(BUILTIN_SERVICES);

/** The validated configuration: what `up` converges to. */
export type Config = z.infer<typeof configSchema>;
/** What a caller may write: every key optional. A caller's own services add their sections. */
export type ConfigInput = z.input<typeof configSchema> & { readonly [section: string]: unknown };
