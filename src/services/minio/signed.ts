import aws4 from "aws4";
import { httpGet, type HttpAnswer } from "../../util/index.js";
import { PROBE_TIMEOUT_MS, hostPort } from "../service.js";

/**
 * The S3 reads asked of the local MinIO on every `status`, `verify` and `up`: its readiness and
 * credentials (ListBuckets), the bucket's presence (HeadBucket) and its policy (GetBucketPolicy).
 * Each is one request signed with AWS Signature V4 by `aws4` and sent through `util/http`; the
 * MinIO client (with lodash, its XML and MIME tables: about 20 ms of every such command, measured)
 * loads only for changes, transfers and snapshots.
 */
export interface BucketReads {
  /** Throws unless S3 accepts the credentials. */
  listBuckets(): Promise<void>;
  bucketExists(bucket: string): Promise<boolean>;
  /** The bucket's policy document; undefined when it has none. */
  bucketPolicy(bucket: string): Promise<string | undefined>;
}

/** An S3 error answer: its `Code` (NoSuchBucket, SignatureDoesNotMatch...) and `Message`, as the MinIO client's S3Error has them. */
export class S3Error extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly status: number,
  ) {
    super(message);
    this.name = "S3Error";
  }
}

/** Signed reads against a local MinIO at `host:port` (plain HTTP, path-style), as `accessKey`. */
export function signedBucketReads(
  at: { host: string; port: number; region: string },
  creds: { accessKey: string; secretKey: string },
): BucketReads {
  const send = async (what: string, method: "GET" | "HEAD", path: string): Promise<HttpAnswer> => {
    const host = hostPort(at.host, at.port);
    const signed = aws4.sign(
      { host, path, method, service: "s3", region: at.region, headers: {} },
      { accessKeyId: creds.accessKey, secretAccessKey: creds.secretKey },
    );
    const headers = Object.fromEntries(Object.entries(signed.headers ?? {}).map(([k, v]) => [k, String(v)]));
    try {
      return await httpGet(`http://${host}${path}`, { method, headers, timeoutMs: PROBE_TIMEOUT_MS, maxBytes: 1024 * 1024 });
    } catch (err) {
      throw new Error(`S3 ${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  };
  const bucketPath = (bucket: string): string => `/${encodeURIComponent(bucket)}`;
  return {
    async listBuckets() {
      const answer = await send("ListBuckets", "GET", "/");
      if (answer.status !== 200) throw await s3Error(answer);
    },
    async bucketExists(bucket) {
      const answer = await send("HeadBucket", "HEAD", bucketPath(bucket));
      if (answer.status === 200) return true;
      if (answer.status === 404) return false;
      throw await s3Error(answer);
    },
    async bucketPolicy(bucket) {
      const answer = await send("GetBucketPolicy", "GET", `${bucketPath(bucket)}?policy`);
      if (answer.status === 200) return answer.body || undefined;
      const err = await s3Error(answer);
      if (err.code === "NoSuchBucketPolicy") return undefined;
      throw err;
    },
  };
}

/** What an answer without a body (HEAD) means, as the MinIO client words it. */
const BY_STATUS: Record<number, [code: string, message: string]> = {
  301: ["MovedPermanently", "Moved Permanently"],
  307: ["TemporaryRedirect", "Are you using the correct endpoint URL?"],
  400: ["BadRequest", "Bad Request"],
  403: ["AccessDenied", "Valid and authorized credentials required"],
  404: ["NotFound", "Not Found"],
  405: ["MethodNotAllowed", "Method Not Allowed"],
  501: ["MethodNotAllowed", "Method Not Allowed"],
};

/** The error an S3 answer other than success carries: from its XML body, else MinIO's error headers or the status (HEAD has no body). */
async function s3Error(answer: HttpAnswer): Promise<S3Error> {
  const fallback = `S3 answered ${answer.status}`;
  if (!answer.body.trim().startsWith("<")) {
    const [code, message] = BY_STATUS[answer.status] ?? [`Http${answer.status}`, fallback];
    const header = (name: string): string | undefined => {
      const v = answer.headers[name];
      return typeof v === "string" && v ? v.replace(/^"|"$/g, "") : undefined;
    };
    return new S3Error(header("x-minio-error-desc") ?? message, header("x-minio-error-code") ?? code, answer.status);
  }
  // The MinIO client's own XML parser, loaded only for an error.
  const { XMLParser } = await import("fast-xml-parser");
  const doc = new XMLParser().parse(answer.body) as { Error?: { Code?: unknown; Message?: unknown } };
  const code = typeof doc.Error?.Code === "string" ? doc.Error.Code : `Http${answer.status}`;
  const message = typeof doc.Error?.Message === "string" ? doc.Error.Message : fallback;
  return new S3Error(message, code, answer.status);
}
