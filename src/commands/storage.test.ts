import { chmod, lstat, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { UserError } from "../errors.js";
import { localTarget, writeDownload } from "./storage.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "dlt-storage-get-"));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const mode = async (p: string) => (await stat(p)).mode & 0o777;
const body = (text: string) => Readable.from([Buffer.from(text)]);

async function get(local: string, force: boolean, text = "object bytes\n") {
  const target = await localTarget(local, join(dir, local), "privkeys/t1/private.pem", force);
  return writeDownload(body(text), target, "privkeys/t1/private.pem");
}

describe("storage get's local file", () => {
  it("is created 0600: objects hold private keys and user data", async () => {
    expect(await get("private.pem", false)).toEqual({ written: join(dir, "private.pem"), size: 13 });
    expect(await mode(join(dir, "private.pem"))).toBe(0o600);
    expect(await readdir(dir)).toEqual(["private.pem"]);
  });

  it("replaced with --force keeps the existing file's mode", async () => {
    const file = join(dir, "asset.png");
    await writeFile(file, "old");
    await chmod(file, 0o640);
    await get("asset.png", true, "new");
    expect(await readFile(file, "utf8")).toBe("new");
    expect(await mode(file)).toBe(0o640);
  });

  it("is not overwritten without --force", async () => {
    await writeFile(join(dir, "asset.png"), "old");
    await expect(get("asset.png", false)).rejects.toThrow(UserError);
    expect(await readFile(join(dir, "asset.png"), "utf8")).toBe("old");
  });

  it("never goes through a link: with --force the link is replaced by a 0600 file, its target untouched", async () => {
    const victim = join(dir, "victim.txt");
    await writeFile(victim, "keep me");
    await chmod(victim, 0o644);
    await symlink(victim, join(dir, "link.pem"));
    await get("link.pem", true);
    expect(await readFile(victim, "utf8")).toBe("keep me");
    expect((await lstat(join(dir, "link.pem"))).isSymbolicLink()).toBe(false);
    expect(await mode(join(dir, "link.pem"))).toBe(0o600);
  });
});
