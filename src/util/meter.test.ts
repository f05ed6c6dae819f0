import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { byteMeter } from "./meter.js";

describe("byteMeter", () => {
  it("passes every byte through and ends with the total", async () => {
    const seen: number[] = [];
    const out: Buffer[] = [];
    const chunks = [Buffer.from("abc"), Buffer.from("defgh"), Buffer.alloc(1000, 1)];
    await pipeline(
      Readable.from(chunks),
      byteMeter((n) => seen.push(n), 0),
      new Writable({
        write(chunk: Buffer, _e, cb) {
          out.push(chunk);
          cb();
        },
      }),
    );
    expect(Buffer.concat(out)).toEqual(Buffer.concat(chunks));
    expect(seen.at(-1)).toBe(1008);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
  });

  it("reports at most once per interval while data flows", async () => {
    const seen: number[] = [];
    await pipeline(
      Readable.from(Array.from({ length: 50 }, () => Buffer.alloc(10))),
      byteMeter((n) => seen.push(n), 60_000),
      new Writable({ write: (_c, _e, cb) => cb() }),
    );
    // The first chunk reports (nothing reported yet), then only the end.
    expect(seen).toEqual([10, 500]);
  });
});
