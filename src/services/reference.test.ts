import { describe, expect, it } from "vitest";
import { bucketProblem, credentialProblem } from "./fields.js";
import { imageReferenceProblem } from "./reference.js";

describe("Docker's image reference grammar", () => {
  it.each([
    "redis:7",
    "minio/minio",
    "registry:2",
    "qdrant/qdrant:v1.12.1",
    "dify-local-fixture/redis:7",
    "localhost:5050/team/app:1.0",
    "host.docker.internal:5050/dify/api",
    "Registry.Example.COM:443/a/b:Tag_1.0-rc",
    "[::1]:5000/app",
    "a__b/c---d/e.f_g",
    `postgres@sha256:${"a".repeat(64)}`,
    `localhost:5000/x:1@sha256:${"0".repeat(64)}`,
    "kindest/node:v1.31.0",
    // Upper case before the first / makes it a registry host for Docker (splitDockerDomain), as in a host name.
    "Qdrant/qdrant",
  ])("accepts %s", (ref) => {
    expect(imageReferenceProblem(ref)).toBeUndefined();
  });

  it.each([
    ["Redis:7", "must be lower-case"],
    ["library/Redis", "must be lower-case"],
    ["a@@::..//", "not a valid image reference"],
    ["has space", "not a valid image reference"],
    ["redis:", "not a valid image reference"],
    [":7", "not a valid image reference"],
    ["redis:-7", "not a valid image reference"],
    ["redis@sha256:abc", "not a valid image reference"],
    ["a/", "not a valid image reference"],
    ["/a", "not a valid image reference"],
    ["a//b", "not a valid image reference"],
    ["a._b", "not a valid image reference"],
    ["a___b", "not a valid image reference"],
    ["-a", "not a valid image reference"],
    ["localhost:port/app", "not a valid image reference"],
    [`redis:${"t".repeat(129)}`, "not a valid image reference"],
    ["a".repeat(256), "at most 255"],
    ["a".repeat(2000), "characters long"],
    ["f".repeat(64), "image ID"],
    ["", "must not be empty"],
  ])("refuses %j", (ref, why) => {
    expect(imageReferenceProblem(ref)).toContain(why);
  });

  it("answers quickly on a long near-miss (no catastrophic backtracking)", () => {
    // Bounded by length first; the regexp itself has no nested ambiguous repetition.
    expect(imageReferenceProblem(`${"a-".repeat(150)}!`)).toContain("not a valid image reference");
    expect(imageReferenceProblem(`${"a.".repeat(150)}A`)).toBeDefined();
  });
});

describe("S3 bucket names", () => {
  it.each(["dify", "my-bucket.v2", "a1b", "x".repeat(63)])("accepts %s", (name) => {
    expect(bucketProblem(name)).toBeUndefined();
  });
  it.each([
    ["a..b", '".."'],
    ["a.-b", '".-"'],
    ["192.168.1.1", "IP address"],
    ["-abc", "starting and ending"],
    ["abc-", "starting and ending"],
    ["Abc", "lower-case"],
    ["ab", "3 to 63"],
    ["x".repeat(64), "3 to 63"],
    ["xn--abc", '"xn--"'],
    ["sthree-abc", '"sthree-"'],
    ["abc-s3alias", '"-s3alias"'],
    ["abc--ol-s3", '"--ol-s3"'],
    ["a_b", "lower-case"],
  ])("refuses %j", (name, why) => {
    expect(bucketProblem(name)).toContain(why);
  });
});

describe("credentials", () => {
  it.each(["devpassword", "p@ss word!", "ünïcødé", "a-b--c"])("accepts %j", (v) => {
    expect(credentialProblem(v)).toBeUndefined();
  });
  it.each([
    ["", "empty"],
    ["--port", 'start with "-"'],
    ["-", 'start with "-"'],
    ["a\nb", "control character"],
    ["a\0b", "control character"],
    ["tab\there", "control character"],
    ["del\u007f", "control character"],
  ])("refuses %j without repeating it", (v, why) => {
    const problem = credentialProblem(v) ?? "";
    expect(problem).toContain(why);
    if (v.length > 1) expect(problem).not.toContain(v);
  });
});
