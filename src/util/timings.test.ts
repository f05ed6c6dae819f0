import { describe, expect, it } from "vitest";
import { addSpan, lazyModule, recordTimings, recordedSpans, timed, timingsOn } from "./timings.js";

describe("timings", () => {
  it("records nothing until asked: timed calls its body and returns its value", async () => {
    expect(timingsOn()).toBe(false);
    expect(await timed("off", () => Promise.resolve(42))).toBe(42);
    addSpan("off too", 1, 2);
    expect(recordedSpans()).toEqual([]);
  });

  it("records a span per timed body once started, failures included, in the order they started", async () => {
    recordTimings();
    expect(timingsOn()).toBe(true);
    const slow = timed("first", () => new Promise<string>((resolve) => setImmediate(() => resolve("a"))));
    await expect(timed("second", () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(await slow).toBe("a");
    const spans = recordedSpans();
    expect(spans.map((s) => s.name)).toEqual(["first", "second"]);
    for (const s of spans) expect(s.end).toBeGreaterThanOrEqual(s.start);
  });

  it("loads a lazy module once, as one span", async () => {
    let loads = 0;
    const load = lazyModule("thing", () => Promise.resolve({ n: ++loads }));
    const [a, b] = await Promise.all([load(), load()]);
    expect(a).toBe(b);
    expect(loads).toBe(1);
    expect(recordedSpans().filter((s) => s.name === "load thing")).toHaveLength(1);
  });
});
