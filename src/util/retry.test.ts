import { describe, expect, it } from "vitest";
import { pollUntil, sleep } from "./retry.js";

describe("pollUntil and sleep with an AbortSignal", () => {
  it("sleep rejects with the signal's reason as soon as it is aborted", async () => {
    const controller = new AbortController();
    const reason = new Error("interrupted");
    const slept = sleep(60_000, controller.signal);
    controller.abort(reason);
    await expect(slept).rejects.toBe(reason);
    await expect(sleep(1, controller.signal)).rejects.toBe(reason);
  });

  it("pollUntil stops between attempts when aborted, and makes no further attempt", async () => {
    const controller = new AbortController();
    const reason = new Error("interrupted");
    let attempts = 0;
    const polled = pollUntil(
      () => {
        attempts++;
        if (attempts === 2) controller.abort(reason);
        return Promise.resolve(undefined);
      },
      { timeoutMs: 60_000, initialMs: 1, signal: controller.signal, onTimeout: () => new Error("timeout") },
    );
    await expect(polled).rejects.toBe(reason);
    expect(attempts).toBe(2);
  });
});
