import { describe, expect, it } from "vitest";
import { requirepass } from "./index.js";

describe("requirepass", () => {
  it("finds the password in both spellings", () => {
    expect(requirepass(["redis-server", "--requirepass", "a b", "--appendonly", "yes"])).toBe("a b");
    expect(requirepass(["redis-server", "--requirepass=x"])).toBe("x");
    expect(requirepass(["redis-server"])).toBeUndefined();
  });
});
