import { Writable } from "node:stream";
import { describe, expect, it, vi } from "vitest";
import { lazyLogUpdate } from "./log-update.js";

function capture(): { stream: Writable; text: () => string } {
  let out = "";
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      out += chunk.toString();
      done();
    },
  });
  return { stream, text: () => out };
}

describe("log-update loaded on first use", () => {
  it("draws the latest frame once loaded, and later frames at once", async () => {
    const { stream, text } = capture();
    const frame = lazyLogUpdate(stream);
    frame("one");
    frame("two");
    await vi.waitFor(() => expect(text()).toContain("two"));
    expect(text()).not.toContain("one");
    frame("three");
    expect(text()).toContain("three");
  });

  it("leaves the last frame when done comes before the module", async () => {
    const { stream, text } = capture();
    const frame = lazyLogUpdate(stream);
    frame("final rows");
    frame.done();
    await vi.waitFor(() => expect(text()).toContain("final rows"));
  });
});
