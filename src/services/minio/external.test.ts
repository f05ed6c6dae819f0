import { describe, expect, it } from "vitest";
import { secretFieldValues } from "../fields.js";
import { ExternalProbeError } from "./external-errors.js";
import {
  bucketCreateRefused,
  classifyS3Error,
  s3Credentials,
  s3Endpoints,
  s3Env,
  s3ExternalFindings,
  s3ExternalSchema,
  s3Failure,
  s3Location,
  s3Target,
  s3Values,
  type S3External,
} from "./external.js";

const AWS_KEYS = { region: "eu-west-1", bucket: "acme-dify", accessKey: "AKIAEXAMPLE", secretKey: "s3cr3t-value" };
const aws = (over: Record<string, unknown> = {}): S3External => s3ExternalSchema.parse({ ...AWS_KEYS, ...over });
const compatible = (over: Record<string, unknown> = {}): S3External =>
  s3ExternalSchema.parse({ endpoint: "https://s3.example.net:9443", ...AWS_KEYS, ...over });

/** The messages of a failed parse, as "path: message". */
function problems(input: unknown): string[] {
  const r = s3ExternalSchema.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
}

describe("minio.external schema", () => {
  it("takes the issue's example: AWS S3 with keys, endpoint empty", () => {
    expect(aws()).toEqual({
      endpoint: "",
      region: "eu-west-1",
      bucket: "acme-dify",
      accessKey: "AKIAEXAMPLE",
      secretKey: "s3cr3t-value",
      useIam: false,
    });
  });

  it("useIam with keys, or neither keys nor IAM, is an error naming the key", () => {
    expect(problems({ bucket: "b-1", useIam: true, accessKey: "AKIA" })).toEqual([
      "accessKey: must not be set with useIam: true (the pods' IAM role gives the credentials)",
    ]);
    expect(problems({ bucket: "b-1" })).toEqual(["accessKey: is required (with secretKey) unless useIam: true"]);
    expect(problems({ bucket: "b-1", accessKey: "AKIA" })).toEqual(["secretKey: is required with accessKey"]);
    expect(problems({ bucket: "b-1", secretKey: "x-secret" })).toEqual(["accessKey: is required with secretKey"]);
    expect(problems({ bucket: "b-1", useIam: true })).toEqual([]);
  });

  it("useIam needs AWS S3; an endpoint on amazonaws.com is refused with the 405 reason", () => {
    expect(problems({ bucket: "b-1", useIam: true, endpoint: "https://minio.internal" })).toEqual([
      'useIam: works with AWS S3 only (endpoint ""): an S3-compatible service knows no AWS IAM role',
    ]);
    const [endpoint] = problems({ ...AWS_KEYS, endpoint: "https://s3.us-east-1.amazonaws.com" });
    expect(endpoint).toMatch(/^endpoint: must be "" for AWS S3 .*HTTP 405$/);
  });

  it("the endpoint is a URL with its scheme and nothing after the port; bucket required and S3-named; strict", () => {
    expect(problems({ ...AWS_KEYS, endpoint: "minio.internal:9000" })[0]).toMatch(/^endpoint: must (be a URL|start with http)/);
    expect(problems({ ...AWS_KEYS, endpoint: "ftp://minio.internal" })).toEqual(["endpoint: must start with http:// or https://"]);
    expect(problems({ ...AWS_KEYS, endpoint: "https://minio.internal/dify" })).toEqual([
      "endpoint: must be scheme, host and port only (no path, query or fragment)",
    ]);
    expect(problems({ ...AWS_KEYS, endpoint: "https://user:pw@minio.internal" })).toEqual([
      "endpoint: must not carry credentials: use accessKey and secretKey",
    ]);
    expect(problems({ accessKey: "a-key", secretKey: "s-key" })[0]).toMatch(/^bucket: is required/);
    expect(problems({ ...AWS_KEYS, bucket: "Upper_Case" })[0]).toMatch(/^bucket: must be lower-case/);
    expect(problems({ ...AWS_KEYS, useSsl: true })[0]).toMatch(/Unrecognized key/);
  });

  it("marks the secret key as a secret (masked everywhere), not the access key", () => {
    expect(secretFieldValues(s3ExternalSchema, aws())).toEqual(["s3cr3t-value"]);
  });
});

describe("s3Location", () => {
  it("AWS: the regional host over TLS, virtual-hosted; AWS China ends in .cn", () => {
    expect(s3Location(aws())).toEqual({
      url: "https://s3.eu-west-1.amazonaws.com",
      host: "s3.eu-west-1.amazonaws.com",
      port: 443,
      tls: true,
      pathStyle: false,
      aws: true,
    });
    expect(s3Location(aws({ region: "cn-north-1" })).host).toBe("s3.cn-north-1.amazonaws.com.cn");
  });
  it("S3-compatible: the endpoint's host, port and scheme; path-style unless told otherwise", () => {
    expect(s3Location(compatible())).toMatchObject({
      url: "https://s3.example.net:9443",
      port: 9443,
      tls: true,
      pathStyle: true,
      aws: false,
    });
    expect(s3Location(compatible({ endpoint: "http://minio.internal" }))).toMatchObject({ port: 80, tls: false });
    expect(s3Location(compatible({ forcePathStyle: false })).pathStyle).toBe(false);
  });
});

describe("s3Values", () => {
  it("AWS with keys: useAwsS3 true and an EMPTY endpoint, for both chart lines; 3.7 also switches its MinIO off", () => {
    const s3 = {
      endpoint: "",
      accessKey: "AKIAEXAMPLE",
      secretKey: "s3cr3t-value",
      region: "eu-west-1",
      bucketName: "acme-dify",
      addressType: "",
      useAwsS3: true,
      useAwsManagedIam: false,
    };
    expect(s3Values(aws(), "3.9")).toEqual({ persistence: { type: "s3", s3 } });
    expect(s3Values(aws(), "3.7")).toEqual({ minio: { enabled: false }, persistence: { type: "s3", s3 } });
  });

  it("AWS with IAM: useAwsManagedIam true and empty keys", () => {
    expect(s3Values(aws({ accessKey: undefined, secretKey: undefined, useIam: true }), "3.9")).toMatchObject({
      persistence: { s3: { endpoint: "", accessKey: "", secretKey: "", useAwsS3: true, useAwsManagedIam: true } },
    });
  });

  it("S3-compatible: the local MinIO's shape (endpoint, path style, useAwsS3 false)", () => {
    expect(s3Values(compatible(), "3.9")).toEqual({
      persistence: {
        type: "s3",
        s3: {
          endpoint: "https://s3.example.net:9443",
          accessKey: "AKIAEXAMPLE",
          secretKey: "s3cr3t-value",
          region: "eu-west-1",
          bucketName: "acme-dify",
          addressType: "path",
          useAwsS3: false,
          useAwsManagedIam: false,
        },
      },
    });
    expect(s3Values(compatible({ forcePathStyle: false }), "3.7")).toMatchObject({
      minio: { enabled: false },
      persistence: { s3: { addressType: "virtual" } },
    });
  });
});

describe("s3Env", () => {
  it("AWS: empty endpoints for the api and the plugin daemon, AWS switched on", () => {
    const env = Object.fromEntries(s3Env(aws()).flatMap((s) => s.entries));
    expect(env).toMatchObject({
      STORAGE_TYPE: "s3",
      S3_ENDPOINT: "",
      S3_REGION: "eu-west-1",
      S3_BUCKET_NAME: "acme-dify",
      S3_ACCESS_KEY: "AKIAEXAMPLE",
      S3_SECRET_KEY: "s3cr3t-value",
      S3_USE_AWS_MANAGED_IAM: "false",
      S3_ADDRESS_STYLE: "auto",
      PLUGIN_S3_USE_AWS: "true",
      PLUGIN_S3_ENDPOINT: "",
      PLUGIN_S3_USE_PATH_STYLE: "false",
      PLUGIN_AWS_REGION: "eu-west-1",
    });
  });
  it("IAM and S3-compatible variants", () => {
    const iam = Object.fromEntries(s3Env(aws({ accessKey: undefined, secretKey: undefined, useIam: true })).flatMap((s) => s.entries));
    expect(iam).toMatchObject({
      S3_USE_AWS_MANAGED_IAM: "true",
      PLUGIN_S3_USE_AWS_MANAGED_IAM: "true",
      S3_ACCESS_KEY: "",
      S3_SECRET_KEY: "",
    });
    const other = Object.fromEntries(s3Env(compatible()).flatMap((s) => s.entries));
    expect(other).toMatchObject({
      S3_ENDPOINT: "https://s3.example.net:9443",
      S3_ADDRESS_STYLE: "path",
      PLUGIN_S3_USE_AWS: "false",
      PLUGIN_S3_ENDPOINT: "https://s3.example.net:9443",
      PLUGIN_S3_USE_PATH_STYLE: "true",
    });
  });
});

describe("endpoints, credentials and config findings", () => {
  it("endpoints carry the port, the same from the host and the cluster", () => {
    expect(s3Endpoints(aws())).toEqual([
      { label: "S3 API (AWS)", host: "https://s3.eu-west-1.amazonaws.com:443", cluster: "https://s3.eu-west-1.amazonaws.com:443" },
    ]);
    expect(s3Endpoints(compatible({ endpoint: "http://minio.internal" }))[0]?.cluster).toBe("http://minio.internal:80");
  });
  it("credentials: the secret key is a secret; IAM shows no keys", () => {
    expect(s3Credentials(aws()).filter((c) => c.secret)).toEqual([{ label: "secret key", value: "s3cr3t-value", secret: true }]);
    expect(s3Credentials(aws({ accessKey: undefined, secretKey: undefined, useIam: true })).map((c) => c.label)).toEqual([
      "credentials",
      "bucket",
      "region",
    ]);
  });
  it("a plain-HTTP endpoint is a warning; https and AWS are not", () => {
    expect(s3ExternalFindings(compatible({ endpoint: "http://minio.internal:9000" })).map((f) => f.id)).toEqual([
      "minio.external.plain-http",
    ]);
    expect(s3ExternalFindings(compatible())).toEqual([]);
    expect(s3ExternalFindings(aws())).toEqual([]);
  });
});

/** An error as the minio client throws it for an S3 answer. */
function s3Error(code: string, message = "refused"): Error {
  return Object.assign(new Error(message), { code });
}
/** An error as Node's socket layer throws it. */
function socketError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 10.0.0.1:443`), { code, syscall: "connect" });
}

describe("classifyS3Error", () => {
  it("auth codes name the endpoint and the keys; AccessDenied lists the permissions", () => {
    const e = classifyS3Error(aws(), s3Error("SignatureDoesNotMatch", "The request signature we calculated does not match"));
    expect(e).toBeInstanceOf(ExternalProbeError);
    expect(e.kind).toBe("auth");
    expect(e.message).toBe(
      "S3 at https://s3.eu-west-1.amazonaws.com refused the credentials (SignatureDoesNotMatch: The request signature we calculated does not match)",
    );
    expect(e.hint).toContain("minio.external.accessKey/secretKey");
    expect(classifyS3Error(aws(), s3Error("AccessDenied")).hint).toContain("s3:PutObject");
    expect(classifyS3Error(aws(), s3Error("InvalidAccessKeyId")).kind).toBe("auth");
  });
  it("network errors: refused and timeouts are unreachable, ENOTFOUND is DNS, certificate errors are TLS", () => {
    expect(classifyS3Error(aws(), socketError("ECONNREFUSED")).kind).toBe("unreachable");
    expect(classifyS3Error(aws(), new Error("S3 ListObjects: timed out (no answer within 3000 ms)")).kind).toBe("unreachable");
    expect(classifyS3Error(aws(), socketError("ENOTFOUND")).kind).toBe("dns");
    expect(classifyS3Error(aws(), socketError("DEPTH_ZERO_SELF_SIGNED_CERT")).kind).toBe("tls");
    expect(classifyS3Error(aws(), socketError("ERR_SSL_WRONG_VERSION_NUMBER")).kind).toBe("tls");
    // fetch wraps the socket's error as its cause; the words and hint are the external core's.
    const refused = classifyS3Error(aws(), new TypeError("fetch failed", { cause: socketError("ECONNREFUSED") }));
    expect(refused.kind).toBe("unreachable");
    expect(refused.message).toMatch(/^S3 at https:\/\/s3.eu-west-1.amazonaws.com: unreachable: fetch failed/);
    expect(refused.hint).toContain("firewall or security group");
  });
  it("a wrong region names the bucket's region when S3 says it", () => {
    const e = classifyS3Error(aws(), Object.assign(s3Error("AuthorizationHeaderMalformed"), { region: "us-west-2" }));
    expect(e.kind).toBe("region");
    expect(e.hint).toBe("set minio.external.region to us-west-2");
  });
  it("useIam without credentials on this machine says so (not an auth failure)", () => {
    const iam = aws({ accessKey: undefined, secretKey: undefined, useIam: true });
    // As the provider throws it: its cause is the metadata endpoint's socket error, which must not make it "unreachable".
    const e = classifyS3Error(
      iam,
      new Error("Failed to get Credentials: Error: connect EHOSTUNREACH 169.254.169.254:80", { cause: socketError("EHOSTUNREACH") }),
    );
    expect(e.kind).toBe("no-credentials");
    expect(e.message).toMatch(/^minio.external.useIam is true and this machine has no AWS IAM credentials/);
    expect(e.hint).toContain("IRSA");
  });
  it("other answers are passed on with S3's code", () => {
    expect(classifyS3Error(aws(), s3Error("InternalError", "We encountered an internal error"))).toMatchObject({
      kind: "other",
      message: "S3 at https://s3.eu-west-1.amazonaws.com answered InternalError: We encountered an internal error",
    });
  });
});

describe("bucketCreateRefused", () => {
  it("refused creation says how to create it (aws s3 mb for AWS, mc mb otherwise)", () => {
    const e = bucketCreateRefused(aws(), s3Error("AccessDenied"));
    expect(e.kind).toBe("auth");
    expect(e.message).toBe(
      "S3 at https://s3.eu-west-1.amazonaws.com: bucket acme-dify does not exist and these credentials may not create it (AccessDenied)",
    );
    expect(e.hint).toContain("aws s3 mb s3://acme-dify --region eu-west-1");
    expect(bucketCreateRefused(compatible(), s3Error("AccessDenied")).hint).toContain("mc mb <alias>/acme-dify");
  });
  it("a name taken by another account asks for another name", () => {
    expect(bucketCreateRefused(aws(), s3Error("BucketAlreadyExists"))).toMatchObject({
      kind: "other",
      hint: "choose another minio.external.bucket",
    });
  });
});

describe("the external core's terms", () => {
  it("s3Target: host, port and TLS in words", () => {
    expect(s3Target(aws())).toEqual({ host: "s3.eu-west-1.amazonaws.com", port: 443, tls: "TLS" });
    expect(s3Target(compatible({ endpoint: "http://minio.internal:9000" }))).toEqual({ host: "minio.internal", port: 9000, tls: "no TLS" });
  });
  it("s3Failure: auth codes are auth, other S3 answers server, classified errors keep their class; anything else undefined", () => {
    expect(s3Failure(s3Error("InvalidAccessKeyId", "no such key"))).toEqual({ kind: "auth", answer: "InvalidAccessKeyId: no such key" });
    expect(s3Failure(s3Error("InternalError"))?.kind).toBe("server");
    expect(s3Failure(classifyS3Error(aws(), socketError("ENOTFOUND")))?.kind).toBe("dns");
    expect(s3Failure(classifyS3Error(aws(), Object.assign(s3Error("PermanentRedirect"), { region: "us-west-2" })))?.kind).toBe("server");
    // The S3 module's own advice goes through to the core's error (the region to set).
    expect(s3Failure(classifyS3Error(aws(), Object.assign(s3Error("PermanentRedirect"), { region: "us-west-2" })))?.hint).toBe(
      "set minio.external.region to us-west-2",
    );
    expect(s3Failure(socketError("ECONNREFUSED"))).toBeUndefined();
    expect(s3Failure(new Error("plain"))).toBeUndefined();
  });
});
