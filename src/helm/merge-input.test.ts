import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserError } from "../errors.js";
import { loadValuesFile, mergeValuesFile } from "./merge.js";

/** Values files that are not values files: refused as bad input (exit 2), never waited on, never half-decoded. */
describe("values files given to --merge and doctor --values", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "dlt-values-input-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function refused(p: Promise<unknown>): Promise<UserError> {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    if (err instanceof UserError) return err;
    throw new Error(`expected a UserError, got ${String(err)}`);
  }

  it("a FIFO and /dev/zero are refused at once", async () => {
    const fifo = join(dir, "values.fifo");
    execFileSync("mkfifo", [fifo]);
    expect((await refused(loadValuesFile(fifo))).message).toContain("is a FIFO (named pipe), not a regular file");
    expect((await refused(loadValuesFile("/dev/zero"))).message).toContain("/dev/zero is a character device");
  });

  it("an alias bomb is a UserError naming the line, not a crash", async () => {
    const file = join(dir, "bomb.yaml");
    const rows = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (const [name, prev] of [
      ["b", "a"],
      ["c", "b"],
      ["d", "c"],
      ["e", "d"],
    ])
      rows.push(`${name}: &${name} [${Array(10).fill(`*${prev}`).join(", ")}]`);
    await writeFile(file, `${rows.join("\n")}\n`);
    const err = await refused(loadValuesFile(file));
    expect(err.message).toMatch(/bomb\.yaml:3:\d+: invalid YAML at c\[0\]: the aliases here expand to more than 100 nodes/);
    expect(err.key).toBe("--merge");
  });

  it("invalid UTF-8 is refused before --merge could write U+FFFD over the user's bytes", async () => {
    const file = join(dir, "latin1.yaml");
    const bytes = Buffer.concat([Buffer.from("global:\n  appSecretKey: caf"), Buffer.from([0xe9]), Buffer.from("\n")]);
    await writeFile(file, bytes);
    const err = await refused(mergeValuesFile(file, { global: { dbHost: "x" } }));
    expect(err.message).toBe(`${file}:2:20: not valid UTF-8 (byte offset 27); save the file as UTF-8`);
    expect(await readFile(file)).toEqual(bytes);
  });
});
