import { Transform } from "node:stream";

/**
 * A pass-through that counts the bytes flowing through it and reports them at most every
 * `everyMs` (and once at the end), so a multi-gigabyte copy can show progress without an event per
 * chunk. Holds no data: memory stays that of one chunk.
 */
export function byteMeter(report: (bytes: number) => void, everyMs = 100): Transform {
  let bytes = 0;
  let last = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
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
