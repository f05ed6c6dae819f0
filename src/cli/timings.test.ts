import { describe, expect, it } from "vitest";
import { RecordingSink } from "../engine/index.js";
import { recordTimings, recordedSpans } from "../util/index.js";
import { renderTimings, TimingSink, timingSink, timingsWanted } from "./timings.js";

describe("--timings", () => {
  it("is wanted with the flag or DIFY_LOCAL_TIMINGS=1 only", () => {
    expect(timingsWanted(["node", "bin", "status", "--timings"], {})).toBe(true);
    expect(timingsWanted(["node", "bin", "status"], { DIFY_LOCAL_TIMINGS: "1" })).toBe(true);
    expect(timingsWanted(["node", "bin", "status"], { DIFY_LOCAL_TIMINGS: "0" })).toBe(false);
  });

  it("leaves the sink as it is while not recording", () => {
    const sink = new RecordingSink();
    expect(timingSink(sink)).toBe(sink);
  });

  it("times each step from start to its end and passes every event on", () => {
    recordTimings();
    const inner = new RecordingSink();
    const sink = timingSink(inner);
    expect(sink).toBeInstanceOf(TimingSink);
    sink.emit({ step: "postgres ready", status: "start" });
    sink.emit({ step: "image x", status: "progress", progress: { current: 1, total: 2 } });
    sink.emit({ step: "check redis.auth", status: "ok" });
    sink.emit({ step: "postgres ready", status: "ok", detail: "answered" });
    expect(inner.events.map((e) => `${e.step}:${e.status}`)).toEqual([
      "postgres ready:start",
      "image x:progress",
      "check redis.auth:ok",
      "postgres ready:ok",
    ]);
    expect(recordedSpans().map((s) => s.name)).toEqual(["postgres ready"]);
  });

  it("prints one line per span and the total", () => {
    const text = renderTimings(
      [
        { name: "node start", start: 0, end: 40 },
        { name: "engine connect", start: 60, end: 72.4 },
      ],
      150,
    );
    const lines = text.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^timings/);
    expect(lines[2]).toMatch(/^ {2}node start\s+0\s+40$/);
    expect(lines[3]).toMatch(/^ {2}engine connect\s+60\s+12$/);
    expect(lines[4]).toMatch(/^ {2}total \(until exit\)\s+150$/);
  });
});
