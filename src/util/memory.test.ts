import { PerformanceObserver, constants } from "node:perf_hooks";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { enableGarbageTrim, trimGarbage } from "./memory.js";

/** The kinds of collections V8 reports while `body` runs. */
async function collectionsDuring(body: () => void): Promise<number[]> {
  const kinds: number[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) kinds.push((e as unknown as { detail: { kind: number } }).detail.kind);
  });
  observer.observe({ entryTypes: ["gc"] });
  body();
  // gc entries are delivered asynchronously.
  await new Promise((r) => setTimeout(r, 50));
  observer.disconnect();
  return kinds;
}

describe("trimGarbage", () => {
  it("exposes no gc until the CLI enables it, then runs a minor collection per call", async () => {
    trimGarbage();
    expect(runInNewContext("typeof gc")).toBe("undefined");
    enableGarbageTrim();
    const kinds = await collectionsDuring(() => {
      for (let i = 0; i < 3; i++) trimGarbage();
    });
    expect(kinds.filter((k) => k === constants.NODE_PERFORMANCE_GC_MINOR).length).toBeGreaterThanOrEqual(3);
  });
});
