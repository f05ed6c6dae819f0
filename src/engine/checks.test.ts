import { describe, expect, it } from "vitest";
import { checkUnlessProven } from "./checks.js";

describe("checkUnlessProven", () => {
  it("passes a check a step of this command has shown, without running it; runs every other", async () => {
    const proven = new Map([["svc.auth", "svc ready"]]);
    let ran = 0;
    const body = () => {
      ran++;
      throw new Error("refused");
    };
    expect(await checkUnlessProven(proven, "svc.auth", "auth works", "fix it", body)).toEqual({
      id: "svc.auth",
      ok: true,
      what: "auth works",
      detail: "shown by svc ready",
    });
    expect(ran).toBe(0);
    const other = await checkUnlessProven(proven, "svc.bucket", "bucket exists", "fix it", body);
    expect([other.ok, other.detail, ran]).toEqual([false, "refused", 1]);
    expect((await checkUnlessProven(undefined, "svc.auth", "auth works", "fix it", body)).ok).toBe(false);
  });
});
