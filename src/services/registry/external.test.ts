import { describe, expect, it } from "vitest";
import {
  ecrPrefixProblem,
  parseEcrPrefix,
  prefixProblem,
  registryBase,
  registryChecks,
  registryEndpoints,
  registryExternalFindings,
  registryExternalSchema,
  registryTarget,
  registryValues,
  type RegistryExternal,
} from "./external.js";

const ECR_PREFIX = "123456789012.dkr.ecr.us-east-1.amazonaws.com/dify-plugins";
const ecr = (over: Record<string, unknown> = {}): RegistryExternal =>
  registryExternalSchema.parse({ prefix: ECR_PREFIX, type: "ecr", insecure: false, ...over });

function problems(input: unknown): string[] {
  const r = registryExternalSchema.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
}

describe("registry.external schema", () => {
  it("takes the issue's example; docker and insecure false by default", () => {
    expect(ecr()).toEqual({ prefix: ECR_PREFIX, type: "ecr", insecure: false });
    expect(registryExternalSchema.parse({ prefix: "harbor.internal:8443/dify" })).toEqual({
      prefix: "harbor.internal:8443/dify",
      type: "docker",
      insecure: false,
    });
  });

  it("ECR: the prefix must be an ECR registry, and insecure is refused", () => {
    expect(problems({ prefix: "harbor.internal/dify", type: "ecr" })[0]).toMatch(/^prefix: must be an ECR registry: <12-digit account>/);
    expect(problems({ prefix: "12345.dkr.ecr.us-east-1.amazonaws.com/x", type: "ecr" })[0]).toMatch(/^prefix: must be an ECR registry/);
    expect(problems({ prefix: ECR_PREFIX, type: "ecr", insecure: true })).toEqual([
      "insecure: must be false for ECR: it speaks HTTPS only",
    ]);
  });

  it("an ECR prefix with type docker asks for type ecr", () => {
    expect(problems({ prefix: ECR_PREFIX })).toEqual([
      'type: must be "ecr" for an ECR registry: the plugin builder logs in to ECR through AWS IAM, not with a docker secret',
    ]);
  });

  it("the prefix is host[:port]/path: no scheme, tag, upper case or trailing slash; strict", () => {
    expect(prefixProblem("https://harbor.internal/dify")).toMatch(/without a scheme/);
    expect(prefixProblem("harbor.internal/dify/")).toBe("must not end with /");
    expect(prefixProblem("harbor.internal/dify:latest")).toMatch(/no tag, digest or upper case/);
    expect(prefixProblem("harbor.internal/Dify")).toMatch(/no tag, digest or upper case/);
    expect(prefixProblem("bad host/dify")).toMatch(/must start with a registry host/);
    expect(prefixProblem("")).toMatch(/must not be empty/);
    expect(prefixProblem("localhost:5050")).toBeUndefined();
    expect(prefixProblem("registry.example.com/a/b-c/d_e")).toBeUndefined();
    expect(problems({ prefix: "localhost:5050", tls: true })[0]).toMatch(/Unrecognized key/);
    expect(problems({ prefix: "localhost:5050", type: "gcr" })).toEqual(['type: must be "docker" or "ecr"']);
  });
});

describe("parseEcrPrefix", () => {
  it("reads account and region, AWS China and FIPS too; anything else is undefined", () => {
    expect(parseEcrPrefix(ECR_PREFIX)).toEqual({
      account: "123456789012",
      region: "us-east-1",
      host: "123456789012.dkr.ecr.us-east-1.amazonaws.com",
    });
    expect(parseEcrPrefix("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/x")?.region).toBe("cn-north-1");
    expect(parseEcrPrefix("123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com/x")?.region).toBe("us-gov-west-1");
    expect(parseEcrPrefix("123456789012.dkr.ecr.us-east-1.amazonaws.com")?.account).toBe("123456789012");
    expect(parseEcrPrefix("docker.io/langgenius")).toBeUndefined();
    expect(ecrPrefixProblem(ECR_PREFIX)).toBeUndefined();
  });
});

describe("registryValues", () => {
  it("ECR: imageRepoType ecr, the prefix, its region, insecure written out as false, for both chart lines", () => {
    const expected = {
      plugin_connector: { imageRepoType: "ecr", imageRepoPrefix: ECR_PREFIX, insecureImageRepo: false, ecrRegion: "us-east-1" },
    };
    expect(registryValues(ecr(), "3.9")).toEqual(expected);
    expect(registryValues(ecr(), "3.7")).toEqual(expected);
    // Even from an object that skipped the schema: ECR is never rendered insecure.
    expect(registryValues({ prefix: ECR_PREFIX, type: "ecr", insecure: true }, "3.9")).toEqual(expected);
  });
  it("ECR with IRSA service accounts: the chart's keys", () => {
    expect(
      registryValues(ecr({ customServiceAccount: "dify-plugin-crd-sa", runnerServiceAccount: "dify-plugin-runner-sa" }), "3.9"),
    ).toMatchObject({
      plugin_connector: { customServiceAccount: "dify-plugin-crd-sa", runnerServiceAccount: "dify-plugin-runner-sa" },
    });
  });
  it("a plain registry: docker, its prefix, insecure as configured, the pull secret when given", () => {
    const harbor = registryExternalSchema.parse({ prefix: "harbor.internal:8080/dify", insecure: true, imageRepoSecret: "harbor-pull" });
    expect(registryValues(harbor, "3.7")).toEqual({
      plugin_connector: {
        imageRepoType: "docker",
        imageRepoPrefix: "harbor.internal:8080/dify",
        insecureImageRepo: true,
        imageRepoSecret: "harbor-pull",
      },
    });
  });
});

describe("endpoints, findings and the ECR check", () => {
  it("base URL: https unless insecure, the port written out", () => {
    expect(registryBase(ecr())).toBe("https://123456789012.dkr.ecr.us-east-1.amazonaws.com:443");
    expect(registryBase({ prefix: "harbor.internal:8080/dify", insecure: true })).toBe("http://harbor.internal:8080");
    expect(registryTarget(ecr())).toEqual({ host: "123456789012.dkr.ecr.us-east-1.amazonaws.com", port: 443, tls: "TLS" });
    expect(registryTarget({ prefix: "harbor.internal/dify", insecure: true })).toEqual({
      host: "harbor.internal",
      port: 80,
      tls: "no TLS (insecure)",
    });
    expect(registryEndpoints(ecr())[0]?.cluster).toBe("https://123456789012.dkr.ecr.us-east-1.amazonaws.com:443");
  });
  it("ECR without service accounts or a pull secret is a warning; with either, none", () => {
    expect(registryExternalFindings(ecr()).map((f) => [f.id, f.severity])).toEqual([["registry.external.ecr-credentials", "warning"]]);
    expect(registryExternalFindings(ecr({ customServiceAccount: "sa" }))).toEqual([]);
    expect(registryExternalFindings(ecr({ imageRepoSecret: "ecr-pull" }))).toEqual([]);
    expect(registryExternalFindings(registryExternalSchema.parse({ prefix: "harbor.internal/dify" }))).toEqual([]);
  });
  it("the ECR check needs no network: the prefix's form, account and region", async () => {
    // An unroutable fetch would hang or fail here; the check must not make one.
    const checks = await registryChecks(ecr(), { signal: AbortSignal.abort() });
    expect(checks).toEqual([
      {
        id: "registry.external.ecr",
        ok: true,
        what: "registry.external.prefix is an ECR repository prefix",
        detail: "account 123456789012, region us-east-1 (credentials are the cluster's: not checked from here)",
      },
    ]);
    // A library caller may hand an unparsed object: the check still judges the form.
    const bad = await registryChecks({ prefix: "harbor.internal/dify", type: "ecr", insecure: false });
    expect(bad[0]).toMatchObject({ id: "registry.external.ecr", ok: false });
  });
});
