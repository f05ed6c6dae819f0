import type { createLogUpdate } from "log-update";

type LogUpdate = ReturnType<typeof createLogUpdate>;

/** What the live rows need of log-update: redraw the frame, and leave the last one on screen. */
export interface FrameWriter {
  (text: string): void;
  done(): void;
}

/**
 * log-update, loaded when live rows are first shown (only on a terminal, only for the commands with
 * progress): other commands never load it. Until it is there, the latest frame waits and is drawn
 * as soon as it is, and `done` takes effect then.
 */
export function lazyLogUpdate(stream: NodeJS.WritableStream): FrameWriter {
  let impl: LogUpdate | undefined;
  let last: string | undefined;
  let finished = false;
  import("log-update").then(
    ({ createLogUpdate }) => {
      impl = createLogUpdate(stream);
      if (last !== undefined) impl(last);
      if (finished) impl.done();
    },
    // Without it (a broken install), the last frame as plain text rather than nothing.
    () => {
      if (last !== undefined) stream.write(`${last}\n`);
    },
  );
  const frame = (text: string) => {
    last = text;
    impl?.(text);
  };
  return Object.assign(frame, {
    done: () => {
      finished = true;
      impl?.done();
    },
  });
}
