import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

type Collect = (options: { type: "minor" | "major" }) => void;

let enabled = false;
let collect: Collect | undefined;

/**
 * Lets {@link trimGarbage} collect (the CLI turns it on; a program using the library keeps V8's
 * own schedule, and no V8 flag is touched). Costs nothing until a command streams.
 */
export function enableGarbageTrim(): void {
  enabled = true;
}

/**
 * A young-generation collection now, where a command has just finished with a batch of data (every
 * few MB of a stream). V8 schedules collections by the growth of its heap, but a stream's 64 KB
 * read buffers live outside it, so they pile up until then: 256 MB through `storage get` peaked at
 * 110 MB, 40 MB above the same command on a small object; with a collection every 8 MB, 94 MB, and
 * every 4 MB (src/util/meter.ts), 86-90 MB (measured; `npm run bench:scale` has the numbers). A minor collection takes well under a millisecond. No-op unless
 * {@link enableGarbageTrim} was called.
 */
export function trimGarbage(): void {
  if (!enabled) return;
  if (!collect) {
    // `gc` is given to contexts made after the flag is set: a new one hands it over.
    setFlagsFromString("--expose-gc");
    collect = runInNewContext("gc") as Collect;
  }
  collect({ type: "minor" });
}
