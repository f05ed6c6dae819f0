import { describe, expect, it } from "vitest";
import { parseConfig, type ConfigInput } from "../config/index.js";
import { RULES } from "../doctor/index.js";
import type { DoctorFacts } from "../doctor/index.js";
import { externalValuesRule } from "../doctor/external-values-rule.js";
import { OperationError, UserError } from "../errors.js";
import { valueAt } from "../helm/index.js";
import { renderStackEnv, serviceValues } from "../stack/values.js";
import { BUILTIN_SERVICES, SERVICES, ExternalProbeError } from "./index.js";

/**
 * `minio.external` and `registry.external` wired into the services: what every command derives
 * from the list of services (ports, endpoints, secrets, credentials, values, .env, failures).
 */

const COMPATIBLE: ConfigInput = {
  minio: {
    external: {
      endpoint: "https://s3.example.net:9443",
      region: "eu-west-1",
      bucket: "acme-dify",
      accessKey: "AKIAX",
      secretKey: "s3-secret",
    },
  },
  registry: { external: { prefix: "registry.example.net/dify-plugins", imageRepoSecret: "regcred" } },
  cluster: { enabled: false },
};
const AWS: ConfigInput = {
  minio: { external: { region: "us-east-1", bucket: "acme-dify", useIam: true } },
  registry: {
    external: {
      prefix: "123456789012.dkr.ecr.us-east-1.amazonaws.com/dify-plugins",
      type: "ecr",
      customServiceAccount: "builder",
      runnerServiceAccount: "runner",
    },
  },
  cluster: { enabled: false },
};

/** The message of the UserError parsing `input` throws. */
function refusal(input: unknown): string {
  let thrown: unknown;
  try {
    parseConfig(input);
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(UserError);
  return (thrown as UserError).message;
}

describe("minio.external and registry.external: configuration", () => {
  it("refuses the local MinIO's connection keys beside external, naming them", () => {
    for (const key of ["rootPassword", "bucket", "port", "anonymous"]) {
      const section = { ...(COMPATIBLE.minio as object), [key]: key === "port" ? 9000 : key === "anonymous" ? "none" : "value-x" };
      expect(refusal({ ...COMPATIBLE, minio: section })).toContain(`minio.${key}`);
    }
    expect(refusal({ ...COMPATIBLE, registry: { port: 5050, external: { prefix: "r.example.net/x" } } })).toContain("registry.port");
  });

  it("names the key of a bad external value (the 405 trap, ECR's type)", () => {
    expect(
      refusal({ minio: { external: { endpoint: "https://s3.amazonaws.com", bucket: "b-1x", accessKey: "a", secretKey: "s" } } }),
    ).toContain("minio.external.endpoint");
    expect(refusal({ registry: { external: { prefix: "123456789012.dkr.ecr.us-east-1.amazonaws.com/x" } } })).toContain(
      "registry.external.type",
    );
  });
});

describe("minio.external and registry.external: what every command derives", () => {
  const config = parseConfig(COMPATIBLE);
  const aws = parseConfig(AWS);
  const { minio, registry } = BUILTIN_SERVICES;

  it("publish no host port; endpoints and the address are the external ones", () => {
    expect(minio.hostPorts(config)).toEqual([]);
    expect(registry.hostPorts(config)).toEqual([]);
    expect(minio.external(config)).toEqual({ host: "s3.example.net", port: 9443, address: "s3.example.net:9443", tls: "TLS" });
    expect(minio.endpoints(config)).toEqual([
      { label: "S3 API (external)", host: "https://s3.example.net:9443", cluster: "https://s3.example.net:9443" },
    ]);
    expect(minio.external(aws)?.address).toBe("s3.us-east-1.amazonaws.com:443");
    expect(registry.external(config)).toMatchObject({ address: "registry.example.net:443", tls: "TLS" });
    expect(registry.endpoints(aws)).toEqual([
      {
        label: "Registry (ECR)",
        host: "https://123456789012.dkr.ecr.us-east-1.amazonaws.com:443",
        cluster: "https://123456789012.dkr.ecr.us-east-1.amazonaws.com:443",
      },
    ]);
  });

  it("mask the external secret key; show the external keys, bucket and region as credentials", () => {
    expect(minio.secrets(config, undefined)).toContain("s3-secret");
    expect(minio.credentialSource(config, undefined)).toBe("external");
    expect(minio.credentials(config, undefined)).toEqual([
      { label: "access key", value: "AKIAX", secret: false },
      { label: "secret key", value: "s3-secret", secret: true },
      { label: "bucket", value: "acme-dify", secret: false },
      { label: "region", value: "eu-west-1", secret: false },
    ]);
  });

  for (const chart of ["3.7", "3.9"] as const) {
    it(`values for chart ${chart}: the external S3's keys and the registry prefix, never the local defaults`, () => {
      const v = serviceValues({ services: SERVICES, config, observed: new Map() }, chart);
      expect(valueAt(v, ["persistence", "s3"])).toEqual({
        endpoint: "https://s3.example.net:9443",
        accessKey: "AKIAX",
        secretKey: "s3-secret",
        region: "eu-west-1",
        bucketName: "acme-dify",
        addressType: "path",
        useAwsS3: false,
        useAwsManagedIam: false,
      });
      expect(valueAt(v, ["minio", "enabled"])).toBe(chart === "3.7" ? false : undefined);
      expect(valueAt(v, ["plugin_connector"])).toEqual({
        imageRepoType: "docker",
        imageRepoPrefix: "registry.example.net/dify-plugins",
        insecureImageRepo: false,
        imageRepoSecret: "regcred",
      });

      const a = serviceValues({ services: SERVICES, config: aws, observed: new Map() }, chart);
      // AWS S3: an empty endpoint (one set for real AWS breaks the plugin builder's IAM login with 405).
      expect(valueAt(a, ["persistence", "s3"])).toMatchObject({ endpoint: "", useAwsS3: true, useAwsManagedIam: true, accessKey: "" });
      expect(valueAt(a, ["plugin_connector"])).toMatchObject({ imageRepoType: "ecr", insecureImageRepo: false, ecrRegion: "us-east-1" });
    });
  }

  it("the .env carries the external S3's keys", () => {
    const env = renderStackEnv({ services: SERVICES, config, observed: new Map() });
    for (const line of [
      "S3_ENDPOINT=https://s3.example.net:9443",
      "S3_BUCKET_NAME=acme-dify",
      "S3_ACCESS_KEY=AKIAX",
      "PLUGIN_S3_USE_AWS=false",
    ])
      expect(env).toContain(line);
  });

  it("a failed round trip names the external address and keeps the S3 module's own hint", () => {
    const probe = new ExternalProbeError("region", "S3 at https://s3.example.net:9443: bucket acme-dify is not in region eu-west-1", {
      hint: "set minio.external.region to us-west-2",
    });
    const err = minio.externalFailure(config, probe);
    expect(err).toBeInstanceOf(OperationError);
    expect(err.message).toMatch(/^MinIO at s3\.example\.net:9443 \(external, TLS\): the server refused: S3 at/);
    expect((err as OperationError).hint).toBe("set minio.external.region to us-west-2");
    const tls = registry.externalFailure(config, new ExternalProbeError("tls", "registry at https://registry.example.net:443/v2/: TLS"));
    expect(tls.message).toMatch(/^Registry at registry\.example\.net:443 \(external, TLS\): TLS handshake failed/);
  });
});

describe("doctor: the external values rule is registered", () => {
  it("is one of RULES and reports an AWS S3 endpoint in a values file", () => {
    expect(RULES).toContain(externalValuesRule);
    const facts = {
      values: {
        file: "values.yaml",
        data: { persistence: { s3: { endpoint: "https://s3.us-east-1.amazonaws.com", region: "us-east-1" } } },
      },
    } as unknown as DoctorFacts;
    const ids = RULES.filter((r) => r === externalValuesRule).flatMap((r) => r(facts).map((f) => f.id));
    expect(ids).toEqual(["values.s3-endpoint-aws"]);
  });
});
