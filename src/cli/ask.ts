import { createInterface } from "node:readline/promises";

/**
 * Asks a question on the terminal (on stderr, so stdout stays the command's output); true only for
 * `y` or `yes`. A module of its own, loaded where a command asks: Node's readline is four modules
 * every other run would load for nothing.
 */
export async function askYes(
  question: string,
  io: { input: NodeJS.ReadableStream; output: NodeJS.WritableStream } = { input: process.stdin, output: process.stderr },
): Promise<boolean> {
  const rl = createInterface(io);
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}
