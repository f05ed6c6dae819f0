import { spawn } from "node:child_process";
import { lstat, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { writeFileAtomic } from "./atomic-write.js";
import { pollUntil } from "./retry.js";

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "dlt-atomic-"));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const code = (err: unknown) => (err as NodeJS.ErrnoException).code;

describe("writeFileAtomic", () => {
  it("creates a file with the mode asked for (0600 for secrets) and leaves no temporary file", async () => {
    const file = join(dir, "secrets.json");
    expect(await writeFileAtomic(file, "{}\n", { mode: 0o600 })).toBe(3);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(["secrets.json"]);
  });

  it("replaces a symlink at the target instead of writing through it", async () => {
    const victim = join(dir, "victim");
    await writeFile(victim, "keep me\n");
    const file = join(dir, "values.yaml");
    await symlink(victim, file);
    await writeFileAtomic(file, "new\n", { mode: 0o600 });
    expect(await readFile(victim, "utf8")).toBe("keep me\n");
    expect((await lstat(file)).isSymbolicLink()).toBe(false);
    expect(await readFile(file, "utf8")).toBe("new\n");
  });

  it("keeps an existing file's mode with preserve", async () => {
    const file = join(dir, "x.bin");
    await writeFile(file, "old", { mode: 0o640 });
    await writeFileAtomic(file, "new", { mode: 0o600, preserve: await stat(file) });
    expect((await stat(file)).mode & 0o777).toBe(0o640);
  });

  it("exclusive: never replaces a file or a (dangling) link, and the existing file is untouched", async () => {
    const file = join(dir, "values.yaml.bak");
    await writeFile(file, "first backup\n");
    expect(code(await writeFileAtomic(file, "second", { exclusive: true }).catch((e: unknown) => e))).toBe("EEXIST");
    expect(await readFile(file, "utf8")).toBe("first backup\n");
    const link = join(dir, "planted");
    await symlink(join(dir, "elsewhere"), link);
    expect(code(await writeFileAtomic(link, "x", { exclusive: true }).catch((e: unknown) => e))).toBe("EEXIST");
    expect(await readlink(link)).toBe(join(dir, "elsewhere"));
    expect((await readdir(dir)).sort()).toEqual(["planted", "values.yaml.bak"]);
  });

  it("exclusive: of writers racing for a new file exactly one wins, and the file is the winner's whole", async () => {
    const file = join(dir, "secrets.json");
    const texts = Array.from({ length: 12 }, (_, i) => `${JSON.stringify({ writer: i, pad: "x".repeat(100_000) })}\n`);
    const results = await Promise.allSettled(texts.map((t) => writeFileAtomic(file, t, { exclusive: true, mode: 0o600 })));
    const won = results.flatMap((r, i) => (r.status === "fulfilled" ? [i] : []));
    expect(won).toHaveLength(1);
    expect(results.filter((r) => r.status === "rejected").map((r) => code(r.reason))).toEqual(Array(11).fill("EEXIST"));
    expect(await readFile(file, "utf8")).toBe(texts[won[0] ?? -1]);
    expect(await readdir(dir)).toEqual(["secrets.json"]);
  });

  it("a failing source leaves the target as it was and no temporary file", async () => {
    const file = join(dir, "download.bin");
    await writeFile(file, "old");
    const source = new Readable({
      read() {
        this.push(Buffer.from("partial"));
        this.destroy(new Error("connection reset"));
      },
    });
    await expect(writeFileAtomic(file, source)).rejects.toThrow("connection reset");
    expect(await readFile(file, "utf8")).toBe("old");
    expect(await readdir(dir)).toEqual(["download.bin"]);
  });
});

/** A child process writing a stream that never ends into `target`; `listen` adds its own SIGINT handler. */
function writer(
  target: string,
  listen: boolean,
): { done: Promise<{ code: number | null; signal: string | null; out: string }>; kill: () => void } {
  const module = resolve("src/util/atomic-write.ts");
  const script = [
    'import { Readable } from "node:stream";',
    `import { writeFileAtomic } from ${JSON.stringify(module)};`,
    listen ? 'process.on("SIGINT", () => console.log("own handler"));' : "",
    "const source = new Readable({ read() {} });",
    // A download's socket keeps the process alive; here a timer does.
    "setInterval(() => undefined, 1000);",
    "source.push(Buffer.alloc(4096));",
    `writeFileAtomic(${JSON.stringify(target)}, source, { mode: 0o600 }).then(`,
    '  () => console.log("finished"),',
    "  (e) => { console.log(`failed: ${e.message}`); process.exit(0); },",
    ");",
  ].join("\n");
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  return { done: new Promise((r) => child.on("close", (c, signal) => r({ code: c, signal, out }))), kill: () => child.kill("SIGINT") };
}

describe("writeFileAtomic and Ctrl-C", () => {
  async function interruptWhileWriting(listen: boolean) {
    const child = writer(join(dir, "big.bin"), listen);
    // The temporary file exists: the write is under way.
    await pollUntil(async () => ((await readdir(dir)).some((f) => f.startsWith(".big.bin.dify-local-")) ? true : undefined), {
      timeoutMs: 20_000,
      onTimeout: () => new Error("the child never started writing"),
    });
    child.kill();
    return { result: await child.done };
  }

  it("removes the temporary file and ends the process as SIGINT would", async () => {
    const { result } = await interruptWhileWriting(false);
    expect(result.signal).toBe("SIGINT");
    expect(await readdir(dir)).toEqual([]);
  }, 30_000);

  it("with the program's own SIGINT handler: removes the temporary file and fails the write, the program decides", async () => {
    const { result } = await interruptWhileWriting(true);
    expect(result.out).toContain("own handler");
    expect(result.out).toContain("failed: interrupted by SIGINT; nothing was written");
    expect(result.code).toBe(0);
    expect(await readdir(dir)).toEqual([]);
  }, 30_000);
});
