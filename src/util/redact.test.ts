import { describe, expect, it } from "vitest";
import { MASK, Redactor } from "./redact.js";

describe("Redactor", () => {
  it("masks every occurrence of every secret, longest first", () => {
    const r = new Redactor().add("s3cr3t-pass", "s3cr3t");
    expect(r.redact("a s3cr3t-pass and a s3cr3t, twice s3cr3t")).toBe(`a ${MASK} and a ${MASK}, twice ${MASK}`);
  });

  it("masks the URL-encoded and JSON-escaped forms too", () => {
    const r = new Redactor().add('p@ss word/"x"');
    expect(r.redact(`redis://:${encodeURIComponent('p@ss word/"x"')}@host:6379`)).toBe(`redis://:${MASK}@host:6379`);
    expect(r.redact(JSON.stringify({ password: 'p@ss word/"x"' }))).toBe(`{"password":"${MASK}"}`);
  });

  it("treats regular-expression characters literally", () => {
    const r = new Redactor().add("a.b*c(d)");
    expect(r.redact("aXbbbc(d) a.b*c(d)")).toBe(`aXbbbc(d) ${MASK}`);
  });

  it("masks short secrets only as whole tokens, so the rest of the text stays readable", () => {
    const r = new Redactor().add("ab");
    expect(r.redact("--requirepass ab --table abc")).toBe(`--requirepass ${MASK} --table abc`);
  });

  it("ignores empty and missing values and leaves text alone when it knows nothing", () => {
    const r = new Redactor().add("", undefined);
    expect(r.size).toBe(0);
    expect(r.redact("nothing to hide")).toBe("nothing to hide");
  });

  it("learns more secrets after it was used", () => {
    const r = new Redactor().add("first-secret");
    expect(r.redact("first-secret second-secret")).toBe(`${MASK} second-secret`);
    r.add("second-secret");
    expect(r.redact("first-secret second-secret")).toBe(`${MASK} ${MASK}`);
  });

  it("redacts JSON-like values deeply, keeping their shape and other types", () => {
    const r = new Redactor().add("hunter22");
    const value = { a: ["x hunter22", 1, true, null], b: { c: "hunter22" } };
    expect(r.redactValue(value)).toEqual({ a: [`x ${MASK}`, 1, true, null], b: { c: MASK } });
    // The original is not changed.
    expect(value.b.c).toBe("hunter22");
  });

  it("masks an error's message, stack, string properties, string lists and causes, in place", () => {
    const r = new Redactor().add("hunter22");
    const cause = new Error("inner hunter22");
    const err = Object.assign(new Error("outer hunter22", { cause }), {
      hint: "try hunter22",
      command: ["redis-server", "--requirepass", "hunter22"],
      code: 1,
    });
    expect(r.redactError(err)).toBe(err);
    expect(err.message).toBe(`outer ${MASK}`);
    expect(err.stack).not.toContain("hunter22");
    expect(err.stack).toContain(`outer ${MASK}`);
    expect(err.hint).toBe(`try ${MASK}`);
    expect(err.command).toEqual(["redis-server", "--requirepass", MASK]);
    expect(err.code).toBe(1);
    expect(cause.message).toBe(`inner ${MASK}`);
    expect(r.redactError("thrown hunter22")).toBe(`thrown ${MASK}`);
  });
});
