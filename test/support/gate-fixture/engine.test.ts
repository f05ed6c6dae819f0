import { describe, expect, inject, it } from "vitest";

// Shaped like every engine test: skipped when the global setup found no engine.
describe.skipIf(!inject("engine"))("needs the engine", () => {
  it("ran", () => {
    expect(inject("engine")).toBe(true);
  });
});
