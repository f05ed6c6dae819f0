import { describe, expect, it } from "vitest";
import { Nudge, NUDGE_GAP_MS, pollUntil, sleep } from "./retry.js";

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

describe("pollUntil with a Nudge", () => {
  const long = { timeoutMs: 120_000, initialMs: 60_000, onTimeout: () => new Error("timeout") };

  // Without the poke the second attempt would come after 60 s, past the test's own timeout.
  it.each([
    [
      "a poke during the sleep ends it: the next attempt does not wait out the backoff",
      (nudge: Nudge) => setTimeout(() => nudge.poke(), 30),
    ],
    ["a poke during an attempt is kept for the sleep that follows it", (nudge: Nudge) => nudge.poke()],
  ])("%s", async (_title, poke) => {
    const nudge = new Nudge();
    let attempts = 0;
    const polled = pollUntil(
      () => {
        attempts++;
        if (attempts === 1) poke(nudge);
        return Promise.resolve(attempts === 2 ? "ready" : undefined);
      },
      { ...long, nudge },
    );
    await expect(polled).resolves.toBe("ready");
  });

  it("a stream of pokes cannot make it spin: attempts stay at least NUDGE_GAP_MS apart", async () => {
    const nudge = new Nudge();
    const poking = setInterval(() => nudge.poke(), 1);
    const started = Date.now();
    let attempts = 0;
    try {
      await pollUntil(
        () => {
          attempts++;
          return Promise.resolve(Date.now() - started >= 300 ? true : undefined);
        },
        { ...long, nudge },
      );
    } finally {
      clearInterval(poking);
    }
    const elapsed = Date.now() - started;
    expect(attempts).toBeGreaterThan(1);
    expect(attempts).toBeLessThanOrEqual(Math.floor(elapsed / NUDGE_GAP_MS) + 1);
  });

  it("an abort during a nudged sleep still stops the poll with the signal's reason", async () => {
    const controller = new AbortController();
    const reason = new Error("interrupted");
    const polled = pollUntil(() => Promise.resolve(undefined), { ...long, nudge: new Nudge(), signal: controller.signal });
    setTimeout(() => controller.abort(reason), 30);
    await expect(polled).rejects.toBe(reason);
  });
});
