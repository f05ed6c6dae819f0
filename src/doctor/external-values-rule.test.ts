import { describe, expect, it } from "vitest";
import { ecrFindings, externalValuesRule, s3EndpointFindings, s3IamFindings } from "./external-values-rule.js";
import type { DoctorFacts } from "./types.js";

const FILE = "values.yaml";
const ids = (fs: Array<{ id: string; severity: string }>) => fs.map((f) => [f.id, f.severity]);

describe("s3EndpointFindings", () => {
  it("an amazonaws.com endpoint is an error explaining the plugin builder's 405, with the fix", () => {
    const [f, ...rest] = s3EndpointFindings(
      { persistence: { s3: { endpoint: "https://s3.us-east-1.amazonaws.com", useAwsS3: true, region: "us-east-1" } } },
      FILE,
    );
    expect(rest).toEqual([]);
    expect(f).toMatchObject({ id: "values.s3-endpoint-aws", severity: "error" });
    expect(f?.what).toBe('persistence.s3.endpoint is "https://s3.us-east-1.amazonaws.com", an AWS S3 endpoint');
    expect(f?.why).toContain("HTTP 405");
    expect(f?.why).toContain("kaniko");
    expect(f?.fix).toBe('in values.yaml: persistence.s3.endpoint: "" and persistence.s3.useAwsS3: true (region us-east-1 says where)');
  });

  it("an AWS host without a scheme, or with useAwsS3 false, is caught too", () => {
    expect(ids(s3EndpointFindings({ persistence: { s3: { endpoint: "s3.eu-west-1.amazonaws.com" } } }, FILE))).toEqual([
      ["values.s3-endpoint-aws", "error"],
    ]);
    expect(
      ids(s3EndpointFindings({ persistence: { s3: { endpoint: "https://bucket.s3.amazonaws.com.cn", useAwsS3: false } } }, FILE)),
    ).toEqual([["values.s3-endpoint-aws", "error"]]);
  });

  it("useAwsS3 true with a non-AWS endpoint offers both ways out", () => {
    const [f] = s3EndpointFindings({ persistence: { s3: { endpoint: "http://minio.internal:9000", useAwsS3: true } } }, FILE);
    expect(f?.what).toBe('persistence.s3.useAwsS3 is true and persistence.s3.endpoint is set ("http://minio.internal:9000")');
    expect(f?.fix).toContain('for AWS S3 set persistence.s3.endpoint: ""');
    expect(f?.fix).toContain("persistence.s3.useAwsS3: false");
  });

  it("no finding for AWS with an empty endpoint, or for MinIO with useAwsS3 false (the local stack's values)", () => {
    expect(s3EndpointFindings({ persistence: { s3: { endpoint: "", useAwsS3: true } } }, FILE)).toEqual([]);
    expect(s3EndpointFindings({ persistence: { s3: { endpoint: "http://host.docker.internal:9000", useAwsS3: false } } }, FILE)).toEqual(
      [],
    );
    expect(s3EndpointFindings({}, FILE)).toEqual([]);
    // Not a host of AWS, only a name containing it.
    expect(s3EndpointFindings({ persistence: { s3: { endpoint: "https://amazonaws.com.example.net" } } }, FILE)).toEqual([]);
  });
});

describe("s3IamFindings", () => {
  it("useAwsManagedIam without useAwsS3 is an error; with it, none", () => {
    expect(ids(s3IamFindings({ persistence: { s3: { useAwsManagedIam: true, useAwsS3: false } } }, FILE))).toEqual([
      ["values.s3-iam-not-aws", "error"],
    ]);
    expect(s3IamFindings({ persistence: { s3: { useAwsManagedIam: true, useAwsS3: true } } }, FILE)).toEqual([]);
    expect(s3IamFindings({ persistence: { s3: { useAwsManagedIam: false } } }, FILE)).toEqual([]);
  });
});

describe("ecrFindings", () => {
  const prefix = "123456789012.dkr.ecr.us-east-1.amazonaws.com/dify-plugins";

  it("ECR without service accounts or a pull secret is a warning naming the keys", () => {
    const [f, ...rest] = ecrFindings({ plugin_connector: { imageRepoType: "ecr", imageRepoPrefix: prefix, ecrRegion: "us-east-1" } }, FILE);
    expect(rest).toEqual([]);
    expect(f).toMatchObject({ id: "values.ecr-credentials", severity: "warning" });
    expect(f?.fix).toContain("customServiceAccount and runnerServiceAccount");
  });

  it("IRSA service accounts (the reference deployment's shape) or a pull secret satisfy it", () => {
    const irsa = {
      imageRepoType: "ecr",
      imageRepoPrefix: prefix,
      ecrRegion: "us-east-1",
      customServiceAccount: "dify-plugin-crd-sa",
      runnerServiceAccount: "dify-plugin-runner-sa",
    };
    expect(ecrFindings({ plugin_connector: irsa }, FILE)).toEqual([]);
    expect(ecrFindings({ plugin_connector: { imageRepoType: "ecr", imageRepoPrefix: prefix, imageRepoSecret: "ecr-pull" } }, FILE)).toEqual(
      [],
    );
  });

  it("a non-ECR prefix, a region other than the prefix's, and insecureImageRepo true are errors", () => {
    const base = { imageRepoType: "ecr", customServiceAccount: "sa" };
    expect(ids(ecrFindings({ plugin_connector: { ...base, imageRepoPrefix: "docker.io/me" } }, FILE))).toEqual([
      ["values.ecr-prefix", "error"],
    ]);
    expect(ids(ecrFindings({ plugin_connector: { ...base } }, FILE))).toEqual([["values.ecr-prefix", "error"]]);
    const region = ecrFindings({ plugin_connector: { ...base, imageRepoPrefix: prefix, ecrRegion: "eu-west-1" } }, FILE);
    expect(region).toMatchObject([
      { id: "values.ecr-region", severity: "error", fix: "in values.yaml: plugin_connector.ecrRegion: us-east-1" },
    ]);
    expect(ids(ecrFindings({ plugin_connector: { ...base, imageRepoPrefix: prefix, insecureImageRepo: true } }, FILE))).toEqual([
      ["values.ecr-insecure", "error"],
    ]);
  });

  it("nothing for the docker type (the local registry)", () => {
    expect(
      ecrFindings(
        { plugin_connector: { imageRepoType: "docker", imageRepoPrefix: "host.docker.internal:5050", insecureImageRepo: true } },
        FILE,
      ),
    ).toEqual([]);
  });
});

describe("externalValuesRule", () => {
  // The rule reads `values` alone: the other facts are beside the point here.
  const facts = (data: unknown): DoctorFacts =>
    (data === undefined ? {} : { values: { file: "my-values.yaml", data, expected: [] } }) as DoctorFacts;

  it("runs the three over the file given with --values, naming it; nothing without --values", () => {
    const data = {
      persistence: { s3: { endpoint: "https://s3.amazonaws.com", useAwsS3: true, useAwsManagedIam: true } },
      plugin_connector: { imageRepoType: "ecr", imageRepoPrefix: "123456789012.dkr.ecr.us-east-1.amazonaws.com/x" },
    };
    const found = externalValuesRule(facts(data));
    expect(ids(found)).toEqual([
      ["values.s3-endpoint-aws", "error"],
      ["values.ecr-credentials", "warning"],
    ]);
    expect(found[0]?.fix).toMatch(/^in my-values.yaml: /);
    expect(externalValuesRule(facts(undefined))).toEqual([]);
    expect(externalValuesRule(facts("not a mapping"))).toEqual([]);
  });
});
