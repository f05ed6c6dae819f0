import { describe, expect, it } from "vitest";
import { envValue } from "./env.js";

describe("envValue", () => {
  it("leaves safe values bare", () => {
    expect(envValue("devpassword")).toBe("devpassword");
    expect(envValue("http://host.docker.internal:9000")).toBe("http://host.docker.internal:9000");
    expect(envValue("a+b/c==")).toBe("a+b/c==");
    expect(envValue("")).toBe("");
  });
  it("single-quotes spaces, # and $ so nothing is cut or interpolated", () => {
    expect(envValue("two words")).toBe("'two words'");
    expect(envValue("pa#ss")).toBe("'pa#ss'");
    expect(envValue("pa$HOME")).toBe("'pa$HOME'");
    expect(envValue('say "hi"')).toBe("'say \"hi\"'");
  });
  it("double-quotes with escapes when the value holds a single quote or a backslash", () => {
    expect(envValue("it's")).toBe('"it\'s"');
    expect(envValue('a\\b"c')).toBe('"a\\\\b\\"c"');
  });
});
