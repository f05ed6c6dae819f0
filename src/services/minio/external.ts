import { randomBytes } from "node:crypto";
import * as http from "node:http";
import * as https from "node:https";
import type * as Minio from "minio";
import { z } from "zod";
import { check, type Check, type Finding } from "../../engine/index.js";
import { messageOf } from "../../errors.js";
import type { ChartVersion, EnvSection, ValuesTree } from "../../helm/index.js";
import { bucketProblem, credential, region, secret } from "../fields.js";
import type { Credential, Endpoint } from "../service.js";
import { PROBE_TIMEOUT_MS } from "../service.js";
import { withTimeout } from "../../util/index.js";
import { failureText, networkFailure, type Failure } from "../external.js";
import { ExternalProbeError, probeFailure } from "./external-errors.js";

/** A host of AWS's own S3 (and of AWS China): `s3.us-east-1.amazonaws.com`, `bucket.s3.amazonaws.com.cn`. */
const AWS_HOST = /(^|\.)amazonaws\.com(\.cn)?$/i;

/** True when `host` is one of AWS's own. */
export function isAwsHost(host: string): boolean {
  return AWS_HOST.test(host);
}

/**
 * Why `value` cannot be `minio.external.endpoint`, or undefined. Empty means AWS S3. Anything else
 * is an S3-compatible service's URL with its scheme (TLS or not is the user's explicit choice)
 * and nothing after host and port. A URL of AWS itself is refused: the chart hands the endpoint
 * to the plugin builder (kaniko) as its AWS endpoint, and its IAM login then fails with HTTP 405.
 */
export function s3EndpointProblem(value: string): string | undefined {
  if (value === "") return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be a URL such as https://s3.example.com or http://minio.internal:9000, or "" for AWS S3';
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return "must start with http:// or https://";
  if (url.username || url.password) return "must not carry credentials: use accessKey and secretKey";
  if (url.pathname !== "/" || url.search || url.hash) return "must be scheme, host and port only (no path, query or fragment)";
  if (isAwsHost(url.hostname)) {
    return (
      'must be "" for AWS S3 (region says where): an endpoint set for real AWS reaches the plugin builder (kaniko) as its AWS ' +
      "endpoint, and its IAM login (AssumeRoleWithWebIdentity) then fails with HTTP 405"
    );
  }
  return undefined;
}

const endpoint = z.string({ invalid_type_error: 'must be a string (a URL, or "" for AWS S3)' }).superRefine((value, ctx) => {
  const problem = s3EndpointProblem(value);
  if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem, fatal: true });
});

const requiredBucket = z
  .string({
    required_error: "is required: the bucket Dify keeps its files in (bucket names are global on AWS: pick your own)",
    invalid_type_error: "must be a string",
  })
  .superRefine((value, ctx) => {
    const problem = bucketProblem(value);
    if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem, fatal: true });
  });

/** `minio.external`'s keys before the rules that tie them together. */
const s3ExternalShape = z
  .object({
    /** "" for AWS S3; else the S3-compatible service's URL. */
    endpoint: endpoint.default(""),
    region: region.default("us-east-1"),
    bucket: requiredBucket,
    accessKey: credential.optional(),
    secretKey: secret.optional(),
    /** Credentials from the pods' IAM role (IRSA on EKS) instead of keys: AWS S3 only. */
    useIam: z.boolean({ invalid_type_error: "must be true or false" }).default(false),
    /** Path-style addressing (`host/bucket/key`); default: on for an S3-compatible endpoint, the SDK's choice for AWS. */
    forcePathStyle: z.boolean({ invalid_type_error: "must be true or false" }).optional(),
  })
  .strict();

/**
 * The `minio.external` section: any S3 instead of the MinIO container. Either keys or `useIam`,
 * never both and never neither; `useIam` only against AWS S3. Each message names its key.
 */
export const s3ExternalSchema = s3ExternalShape.superRefine((s, ctx) => {
  const issue = (key: keyof typeof s, message: string) => ctx.addIssue({ code: z.ZodIssueCode.custom, path: [key], message });
  if (s.useIam) {
    if (s.accessKey !== undefined) issue("accessKey", "must not be set with useIam: true (the pods' IAM role gives the credentials)");
    if (s.secretKey !== undefined) issue("secretKey", "must not be set with useIam: true (the pods' IAM role gives the credentials)");
    if (s.endpoint !== "") issue("useIam", 'works with AWS S3 only (endpoint ""): an S3-compatible service knows no AWS IAM role');
    return;
  }
  if (s.accessKey === undefined) {
    issue("accessKey", s.secretKey === undefined ? "is required (with secretKey) unless useIam: true" : "is required with secretKey");
  }
  if (s.secretKey === undefined && s.accessKey !== undefined) issue("secretKey", "is required with accessKey");
});

/** `minio.external` as validated. */
export type S3External = z.output<typeof s3ExternalSchema>;

/** What a round trip may take, and a way to stop it early. */
export interface RoundTripOptions {
  signal?: AbortSignal;
  /** Milliseconds for each round trip; default {@link PROBE_TIMEOUT_MS}. */
  timeoutMs?: number;
}

/** Where the S3 API of an external section answers. */
export interface S3Location {
  /** The URL people see: the endpoint, or AWS's regional one. */
  url: string;
  host: string;
  port: number;
  tls: boolean;
  /** Path-style addressing (`host/bucket/key`) rather than virtual-hosted (`bucket.host/key`). */
  pathStyle: boolean;
  aws: boolean;
}

/** The S3 API an external section points at. Pure. */
export function s3Location(ext: Pick<S3External, "endpoint" | "region" | "forcePathStyle">): S3Location {
  if (ext.endpoint === "") {
    const host = `s3.${ext.region}.amazonaws.com${ext.region.startsWith("cn-") ? ".cn" : ""}`;
    return { url: `https://${host}`, host, port: 443, tls: true, pathStyle: ext.forcePathStyle ?? false, aws: true };
  }
  const url = new URL(ext.endpoint);
  const tls = url.protocol === "https:";
  const port = url.port ? Number(url.port) : tls ? 443 : 80;
  return { url: url.origin, host: url.hostname, port, tls, pathStyle: ext.forcePathStyle ?? true, aws: false };
}

/**
 * An S3 client for the section with its keys, or with `iam` (the pods' IAM role as this machine
 * finds one); on `agent` when given, so a round trip cut short leaves no socket behind.
 */
async function externalClient(ext: S3External, agent?: http.Agent, iam?: Minio.IamAwsProvider): Promise<Minio.Client> {
  // Loaded on first use, like the other protocol clients: CLI start-up stays short.
  const { Client } = await import("minio");
  const at = s3Location(ext);
  return new Client({
    // minio picks AWS's regional host itself for s3.amazonaws.com.
    endPoint: at.aws ? "s3.amazonaws.com" : at.host,
    port: at.port,
    useSSL: at.tls,
    region: ext.region,
    pathStyle: at.pathStyle,
    ...(agent ? { transportAgent: agent } : {}),
    // One answer is the answer: a retry would only hide what the server said.
    retryOptions: { disableRetry: true },
    ...(iam ? { credentialsProvider: iam } : { accessKey: ext.accessKey ?? "", secretKey: ext.secretKey ?? "" }),
  });
}

/**
 * A client of the external S3 for `storage` (listing, uploads, downloads of any length): the
 * section's keys, or with `useIam` the IAM identity this machine has (the provider fetches it on
 * the first request; none is a classified `no-credentials` through {@link classifyS3Error}).
 */
export async function s3Client(ext: S3External): Promise<Minio.Client> {
  if (!ext.useIam) return externalClient(ext);
  const { IamAwsProvider } = await import("minio");
  return externalClient(ext, undefined, new IamAwsProvider({}));
}

/** Error codes S3 answers when it refuses the credentials or what they may do. */
const AUTH_CODES = new Set([
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "AccessDenied",
  "InvalidToken",
  "ExpiredToken",
  "InvalidClientTokenId",
  "AllAccessDisabled",
  "AccountProblem",
]);
/** Error codes S3 answers when the request went to the wrong region. */
const REGION_CODES = new Set([
  "AuthorizationHeaderMalformed",
  "PermanentRedirect",
  "IllegalLocationConstraintException",
  "MovedPermanently",
]);

/** The S3 error code of an answer from the server, if it is one. */
function s3Code(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && !networkFailure(err) ? code : undefined;
}

/**
 * A failed round trip as the user should read it: the endpoint, what the server (or the network)
 * said, and what to do. Pure, over the error the client threw.
 */
export function classifyS3Error(ext: S3External, err: unknown): ExternalProbeError {
  if (err instanceof ExternalProbeError) return err;
  // Before the network: the provider's failure carries the metadata endpoint's socket error as its cause.
  if (/Failed to get Credentials/i.test(messageOf(err))) return noIamCredentials(ext, err);
  const where = `S3 at ${s3Location(ext).url}`;
  const net = networkFailure(err);
  if (net) {
    const { what, hint } = failureText(net, "minio.external");
    return new ExternalProbeError(net.kind === "server" ? "other" : net.kind, `${where}: ${what}`, { hint, cause: err });
  }
  const code = s3Code(err) ?? "";
  const said = `${code ? `${code}: ` : ""}${messageOf(err)}`;
  if (AUTH_CODES.has(code)) {
    const keys = ext.useIam ? "the pods' IAM role" : "minio.external.accessKey/secretKey";
    return new ExternalProbeError("auth", `${where} refused the credentials (${said})`, {
      hint: `check ${keys}: ${code === "AccessDenied" ? `the identity needs s3:ListBucket, s3:GetObject, s3:PutObject and s3:DeleteObject on ${ext.bucket}` : "the key or its secret is wrong"}`,
      cause: err,
    });
  }
  if (REGION_CODES.has(code)) {
    const actual = (err as { amzBucketRegion?: unknown; region?: unknown }).amzBucketRegion ?? (err as { region?: unknown }).region;
    return new ExternalProbeError("region", `${where}: bucket ${ext.bucket} is not in region ${ext.region} (${said})`, {
      hint: `set minio.external.region${typeof actual === "string" && actual ? ` to ${actual}` : " to the bucket's region"}`,
      cause: err,
    });
  }
  return new ExternalProbeError("other", `${where} answered ${said}`, { cause: err });
}

/** `useIam` where this machine has no IAM identity (a laptop): said as such, not as an auth failure. */
function noIamCredentials(ext: S3External, err: unknown): ExternalProbeError {
  return new ExternalProbeError(
    "no-credentials",
    `minio.external.useIam is true and this machine has no AWS IAM credentials (no web identity token, no container or instance role): ${messageOf(err)}`,
    {
      hint:
        `that is expected outside AWS: the pods get credentials from their service account's IAM role (IRSA). dify-local cannot reach bucket ${ext.bucket} ` +
        "from here; run verify from a machine with the role, or check from the cluster",
      cause: err,
    },
  );
}

/**
 * Runs `work` with a client of the section, bounded by the timeout and `signal`; errors come back
 * classified ({@link classifyS3Error}). With `useIam` the credentials are fetched first (web
 * identity token, container or instance role), so their absence is said as such. The agents are
 * destroyed afterwards: a round trip cut short (a silent host) keeps no socket alive.
 */
async function roundTrip<T>(ext: S3External, what: string, options: RoundTripOptions, work: (c: Minio.Client) => Promise<T>): Promise<T> {
  const agent = s3Location(ext).tls ? new https.Agent({ keepAlive: false }) : new http.Agent({ keepAlive: false });
  const iamAgent = new http.Agent({ keepAlive: false });
  const ms = options.timeoutMs ?? PROBE_TIMEOUT_MS;
  try {
    options.signal?.throwIfAborted();
    let iam: Minio.IamAwsProvider | undefined;
    if (ext.useIam) {
      const { IamAwsProvider } = await import("minio");
      iam = new IamAwsProvider({ transportAgent: iamAgent });
      await withTimeout("AWS IAM credentials", ms, iam.getCredentials(), options.signal).catch((err: unknown) => {
        throw options.signal?.aborted ? err : noIamCredentials(ext, err);
      });
    }
    const client = await externalClient(ext, agent, iam);
    return await withTimeout(what, ms, work(client), options.signal);
  } catch (err) {
    if (options.signal?.aborted) throw err;
    throw classifyS3Error(ext, err);
  } finally {
    agent.destroy();
    iamAgent.destroy();
  }
}

/** Whether `bucket` exists, by listing at most one key: a GET, so a refusal comes back with S3's own error code (a HEAD has none). */
async function bucketListable(client: Minio.Client, bucket: string): Promise<boolean> {
  try {
    await client.listObjectsQuery(bucket, "", "", { Delimiter: "", MaxKeys: 1 });
    return true;
  } catch (err) {
    if (s3Code(err) === "NoSuchBucket") return false;
    throw err;
  }
}

/** What one round trip to an external S3 showed. */
export interface S3ProbeResult {
  /** The S3 API's URL. */
  url: string;
  bucketExists: boolean;
}

/**
 * One real round trip with the section's credentials: lists at most one key of the bucket (a
 * missing bucket is an answer, not a failure). Throws an {@link ExternalProbeError} naming the
 * endpoint: `auth` (InvalidAccessKeyId, SignatureDoesNotMatch, AccessDenied), `unreachable`
 * (refused, timed out), `dns`, `tls`, `region`, or `no-credentials` (`useIam` on a machine without
 * an IAM identity, such as a laptop).
 */
export async function probeS3(ext: S3External, options: RoundTripOptions = {}): Promise<S3ProbeResult> {
  const bucketExists = await roundTrip(ext, "S3 ListObjects", options, (client) => bucketListable(client, ext.bucket));
  return { url: s3Location(ext).url, bucketExists };
}

/** Why S3 refused to create the bucket, and what the user does instead. Pure. */
export function bucketCreateRefused(ext: S3External, err: unknown): ExternalProbeError {
  const code = s3Code(err);
  const where = `S3 at ${s3Location(ext).url}`;
  if (code === "BucketAlreadyExists") {
    return new ExternalProbeError("other", `${where}: the bucket name ${ext.bucket} belongs to another account (bucket names are global)`, {
      hint: "choose another minio.external.bucket",
      cause: err,
    });
  }
  const classified = classifyS3Error(ext, err);
  if (classified.kind !== "auth") return classified;
  const mb = s3Location(ext).aws
    ? `aws s3 mb s3://${ext.bucket} --region ${ext.region}`
    : `mc mb <alias>/${ext.bucket} (or your S3 service's console)`;
  return new ExternalProbeError(
    "auth",
    `${where}: bucket ${ext.bucket} does not exist and these credentials may not create it (${code ?? "refused"})`,
    {
      hint: `create it with an identity that may (${mb}), or grant s3:CreateBucket; then run dify-local up again`,
      cause: err,
    },
  );
}

/**
 * Creates the bucket when it is missing and the credentials may; returns what it changed (empty
 * when the bucket was there). Never deletes, never empties, never changes a bucket's policy.
 *
 * Unlike the local MinIO (the seed makes its `dify` bucket public for plugin assets), an external
 * bucket is left private: on AWS, Block Public Access refuses public policies on new buckets by
 * default, a public bucket there exposes every tenant's files and private keys to the internet,
 * and the chart's plugin storage reads with credentials (keys or the pods' IAM role) anyway.
 */
export async function ensureBucket(ext: S3External, options: RoundTripOptions = {}): Promise<string[]> {
  const exists = await roundTrip(ext, "S3 ListObjects", options, (client) => bucketListable(client, ext.bucket));
  if (exists) return [];
  try {
    await roundTrip(ext, "S3 CreateBucket", options, (client) => client.makeBucket(ext.bucket, ext.region));
  } catch (err) {
    const cause = err instanceof ExternalProbeError ? err.cause : err;
    // Made meanwhile by someone else with our account: it exists, which is all we wanted.
    if (s3Code(cause) === "BucketAlreadyOwnedByYou") return [];
    // The network or TLS failing, or no IAM identity, says nothing about the right to create.
    if (err instanceof ExternalProbeError && err.kind !== "auth" && err.kind !== "other") throw err;
    throw bucketCreateRefused(ext, cause);
  }
  return [`created bucket ${ext.bucket} on ${s3Location(ext).url} (private)`];
}

/** Where the write check puts its probe object: one key, removed at once, never anything else. */
export const PROBE_PREFIX = "dify-local-probe/";

/**
 * Puts a small object under {@link PROBE_PREFIX}, reads its size back and removes it: Dify writes
 * files and tenants' private keys, and read-only credentials make its api fail later and quietly
 * (the seed's PrivkeyNotFoundError). Returns the detail; a failed removal is an error naming the key.
 */
async function writeProbe(client: Minio.Client, bucket: string): Promise<string> {
  const key = `${PROBE_PREFIX}${randomBytes(8).toString("hex")}`;
  const body = Buffer.from("dify-local write check; removed at once\n");
  await client.putObject(bucket, key, body, body.length);
  try {
    const stat = await client.statObject(bucket, key);
    if (stat.size !== body.length) throw new Error(`read back ${stat.size} bytes of ${body.length}`);
  } finally {
    await client.removeObject(bucket, key).catch((err: unknown) => {
      throw new Error(`wrote ${key} but could not remove it (${messageOf(err)}): remove it by hand; Dify needs s3:DeleteObject too`);
    });
  }
  return `wrote, read and removed ${key}`;
}

/**
 * `verify`'s checks of an external S3, in order: reachable with the credentials, bucket exists,
 * and an object can be written, read and removed. A later check is not attempted when an earlier
 * one failed (it would only repeat the failure). Never leaves anything behind.
 */
export async function s3Checks(ext: S3External, options: RoundTripOptions = {}): Promise<Check[]> {
  const at = s3Location(ext);
  const out: Check[] = [];
  const what = `S3 at ${at.url} accepts the credentials (${ext.useIam ? "the IAM role" : "access key"})`;
  let probe: S3ProbeResult;
  try {
    probe = await probeS3(ext, options);
    out.push({ id: "minio.external.auth", ok: true, what });
  } catch (err) {
    const hint = err instanceof ExternalProbeError ? err.hint : undefined;
    out.push({
      id: "minio.external.auth",
      ok: false,
      what,
      detail: messageOf(err),
      fix: hint ?? "check minio.external in dify-local.yaml",
    });
    return out;
  }
  const exists = probe.bucketExists;
  out.push(
    await check("minio.external.bucket", `bucket ${ext.bucket} exists`, "run `dify-local up` to create it (or create it yourself)", () => {
      if (!exists) throw new Error(`no bucket ${ext.bucket} on ${at.url}`);
    }),
  );
  if (!exists) return out;
  out.push(
    await check(
      "minio.external.write",
      `the credentials may write, read and delete objects in ${ext.bucket}`,
      `grant s3:PutObject, s3:GetObject and s3:DeleteObject on ${ext.bucket}/*`,
      () => roundTrip(ext, "S3 write check", options, (client) => writeProbe(client, ext.bucket)),
    ),
  );
  return out;
}

/** Dify's `addressType` / `S3_ADDRESS_STYLE` for the section: "" (the SDK's choice) for AWS unless forced, else path or virtual. */
function addressStyle(ext: S3External): "" | "path" | "virtual" {
  const at = s3Location(ext);
  if (at.aws && ext.forcePathStyle === undefined) return "";
  return at.pathStyle ? "path" : "virtual";
}

/**
 * The Dify EE Helm values for an external S3, for either chart line (3.7 and 3.9 share the keys of
 * `persistence.s3`; 3.7 also has a built-in MinIO to switch off). AWS S3 gets `useAwsS3: true` and
 * an EMPTY endpoint: an endpoint set for real AWS reaches the plugin builder (kaniko) as its AWS
 * endpoint, and its IAM login (AssumeRoleWithWebIdentity) then fails with HTTP 405
 * (langgenius/dify-ee-terraform-aws). With `useIam` the keys are empty and `useAwsManagedIam` is
 * true. An S3-compatible endpoint gets the shape the local MinIO's values have. Pure.
 */
export function s3Values(ext: S3External, chart: ChartVersion): ValuesTree {
  const at = s3Location(ext);
  return {
    // Chart 3.7's own MinIO must stay off: enabled, its post-install job waits on it and hangs.
    ...(chart === "3.7" ? { minio: { enabled: false } } : {}),
    persistence: {
      type: "s3",
      s3: {
        endpoint: at.aws ? "" : at.url,
        accessKey: ext.accessKey ?? "",
        secretKey: ext.secretKey ?? "",
        region: ext.region,
        bucketName: ext.bucket,
        addressType: addressStyle(ext),
        useAwsS3: at.aws,
        useAwsManagedIam: ext.useIam,
      },
    },
  };
}

/**
 * The community edition's `.env` share for an external S3: the api's `S3_*` and the plugin
 * daemon's `PLUGIN_S3_*`/`PLUGIN_AWS_*`, with the same empty endpoint for AWS. Pure.
 */
export function s3Env(ext: S3External): EnvSection[] {
  const at = s3Location(ext);
  const endpointValue = at.aws ? "" : at.url;
  const style = addressStyle(ext);
  const iam = String(ext.useIam);
  return [
    {
      title: at.aws ? "File storage: AWS S3 (no endpoint: the SDK finds it from the region)" : `File storage: S3 at ${at.url}`,
      entries: [
        ["STORAGE_TYPE", "s3"],
        ["S3_ENDPOINT", endpointValue],
        ["S3_REGION", ext.region],
        ["S3_BUCKET_NAME", ext.bucket],
        ["S3_ACCESS_KEY", ext.accessKey ?? ""],
        ["S3_SECRET_KEY", ext.secretKey ?? ""],
        ["S3_USE_AWS_MANAGED_IAM", iam],
        ["S3_ADDRESS_STYLE", style === "" ? "auto" : style],
      ],
      note: ext.useIam
        ? "S3_USE_AWS_MANAGED_IAM: the containers need an AWS identity of their own (instance or task role); the keys stay empty"
        : "S3_ADDRESS_STYLE: the stock community docker-compose.yaml does not pass it to the containers; add it to their environment if you use it",
    },
    {
      title: "Plugin daemon storage: the same bucket",
      entries: [
        ["PLUGIN_STORAGE_TYPE", "aws_s3"],
        ["PLUGIN_STORAGE_OSS_BUCKET", ext.bucket],
        ["PLUGIN_S3_USE_AWS", String(at.aws)],
        ["PLUGIN_S3_USE_AWS_MANAGED_IAM", iam],
        ["PLUGIN_S3_ENDPOINT", endpointValue],
        ["PLUGIN_S3_USE_PATH_STYLE", String(style === "path")],
        ["PLUGIN_AWS_ACCESS_KEY", ext.accessKey ?? ""],
        ["PLUGIN_AWS_SECRET_KEY", ext.secretKey ?? ""],
        ["PLUGIN_AWS_REGION", ext.region],
      ],
    },
  ];
}

/**
 * Where the external S3 answers, the same from this machine and from the cluster, with the port
 * written out (`new URL` drops a default port: a reader takes 443/80 from the scheme then).
 */
export function s3Endpoints(ext: S3External): Endpoint[] {
  const at = s3Location(ext);
  const url = `${at.tls ? "https" : "http"}://${at.host}:${at.port}`;
  return [{ label: at.aws ? "S3 API (AWS)" : "S3 API (external)", host: url, cluster: url }];
}

/** What `info` shows of an external S3; the secret key is masked unless asked. */
export function s3Credentials(ext: S3External): Credential[] {
  return [
    ...(ext.useIam
      ? [{ label: "credentials", value: "the pods' IAM role (useAwsManagedIam)", secret: false }]
      : [
          { label: "access key", value: ext.accessKey ?? "", secret: false },
          { label: "secret key", value: ext.secretKey ?? "", secret: true },
        ]),
    { label: "bucket", value: ext.bucket, secret: false },
    { label: "region", value: ext.region, secret: false },
  ];
}

/**
 * Config-level findings for an external S3 that need no network: warnings the doctor can show
 * before any round trip. Pure.
 */
export function s3ExternalFindings(ext: S3External): Finding[] {
  const at = s3Location(ext);
  const out: Finding[] = [];
  if (!at.aws && !at.tls) {
    out.push({
      id: "minio.external.plain-http",
      severity: "warning",
      what: `minio.external.endpoint ${at.url} is plain HTTP`,
      why: "the access key, its signatures and every file (tenants' private keys among them) cross the network unencrypted",
      fix: "use the service's https:// endpoint where it has one",
    });
  }
  return out;
}

/** Where the section's S3 answers and its TLS in words, as `status` and `info` show an external service. Pure. */
export function s3Target(ext: S3External): { host: string; port: number; tls: string } {
  const at = s3Location(ext);
  return { host: at.host, port: at.port, tls: at.tls ? "TLS" : "no TLS" };
}

/**
 * A failure of an external S3 round trip in the external core's terms (its class, S3's answer,
 * and the S3 module's own hint: the region to set, the missing IAM identity); undefined for an
 * error that is no S3 round trip's (the core then classifies the network's part).
 */
export function s3Failure(err: unknown): Failure | undefined {
  const probed = probeFailure(err);
  if (probed) return probed;
  const code = s3Code(err);
  if (code === undefined) return undefined;
  return { kind: AUTH_CODES.has(code) ? "auth" : "server", answer: `${code}: ${messageOf(err)}` };
}
