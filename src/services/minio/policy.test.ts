import { describe, expect, it } from "vitest";
import { anonymousPolicy, classifyPolicy } from "./policy.js";

describe("anonymous bucket policy", () => {
  it("round-trips each level", () => {
    for (const level of ["none", "download", "public"] as const) {
      expect(classifyPolicy("dify", anonymousPolicy("dify", level))).toBe(level);
    }
  });
  it("ignores JSON formatting and statement order, as servers reformat", () => {
    const p = JSON.parse(anonymousPolicy("dify", "download")!) as { Statement: unknown[] };
    p.Statement.reverse();
    expect(classifyPolicy("dify", JSON.stringify(p, null, 2))).toBe("download");
  });
  it("calls a policy for another bucket or with extra grants custom", () => {
    expect(classifyPolicy("dify", anonymousPolicy("other", "public"))).toBe("custom");
  });
  it("gives mc's public action list", () => {
    expect(anonymousPolicy("dify", "public")).toContain("s3:PutObject");
    expect(anonymousPolicy("dify", "download")).not.toContain("s3:PutObject");
  });
});
