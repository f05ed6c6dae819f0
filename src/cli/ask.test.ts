import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { askYes } from "./ask.js";

async function answer(text: string): Promise<{ yes: boolean; shown: string }> {
  const input = new PassThrough();
  const output = new PassThrough();
  let shown = "";
  output.on("data", (c: Buffer) => (shown += c.toString()));
  const asked = askYes("Delete them?", { input, output });
  input.end(text);
  return { yes: await asked, shown };
}

describe("askYes", () => {
  it.each(["y\n", "yes\n", "Y\n", " YES \n"])("takes %j for yes", async (text) => {
    expect((await answer(text)).yes).toBe(true);
  });

  it.each(["\n", "n\n", "no\n", "yes please\n", "sure\n"])("takes %j for no", async (text) => {
    expect((await answer(text)).yes).toBe(false);
  });

  it("shows the question with the default in capitals", async () => {
    expect((await answer("n\n")).shown).toBe("Delete them? [y/N] ");
  });
});
