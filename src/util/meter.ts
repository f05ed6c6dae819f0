import { Transform } from "node:stream";
import { trimGarbage } from "./memory.js";

/** How many bytes pass between two {@link trimGarbage} calls. */
const TRIM_EVERY = 4 << 20;

/**
 * A pass-through that counts the bytes flowing through it and reports them at most every
 * `everyMs` (and once at the end), so a multi-gigabyte copy can show progress without an event per
 * chunk. Holds no data: memory stays that of a few chunks (it trims the garbage every 4 MB, see
 * {@link trimGarbage}).
 */
export function byteMeter(report: (bytes: number) => void, everyMs = 100): Transform {
  let bytes = 0;
  let last = 0;
  let trimmed = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      if (bytes - trimmed >= TRIM_EVERY) {
        trimmed = bytes;
        trimGarbage();
      }
      const now = Date.now();
      if (now - last >= everyMs) {
        last = now;
        report(bytes);
      }
      callback(null, chunk);
    },
    flush(callback) {
      report(bytes);
      callback();
    },
  });
}
