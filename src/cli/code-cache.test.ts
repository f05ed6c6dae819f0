import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cacheName, cacheVariant, codeCacheDir, commandWord, requireCached, v8FlagsFor } from "./code-cache.js";

let root: string;
let file: string;
let dir: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "dl-code-cache-"));
  file = join(root, "bundle.cjs");
  dir = join(root, "cache");
  writeBundle(1);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** A CommonJS module like the bundle: exports, require, __dirname. */
function writeBundle(version: number): void {
  writeFileSync(
    file,
    [
      `const { basename } = require("node:path");`,
      `exports.version = ${version};`,
      `exports.dir = basename(__dirname);`,
      `exports.sum = (xs) => xs.reduce((a, b) => a + b, 0);`,
    ].join("\n"),
  );
}

/** A cache file as requireCached writes it: `dlcc1`, the bytecode its run ended with, V8's data. */
function withHeader(bytecode: number, data: Buffer): Buffer {
  const header = Buffer.alloc(13);
  header.write("dlcc1", "latin1");
  header.writeDoubleLE(bytecode, 5);
  return Buffer.concat([header, data]);
}

interface Bundle {
  version: number;
  dir: string;
  sum(xs: number[]): number;
}

const load = (variant = "status") => requireCached(file, { dir, variant });
const caches = () => readdirSync(dir).filter((f) => f.endsWith(".cache"));

describe("requireCached", () => {
  it("loads the module as require would, then a second run uses the cache the first one saved", () => {
    const first = load();
    expect(first.cache).toBe("missing");
    const m = first.exports as Bundle;
    expect([m.version, m.dir, m.sum([1, 2, 3])]).toEqual([1, root.split("/").pop(), 6]);
    first.save();
    expect(caches()).toHaveLength(1);
    expect(caches()[0]).toMatch(/^bundle\.cjs\.\d+-\d+\.v\d+\.\d+\.\d+-\w+\.status\.cache$/);
    const second = load();
    expect(second.cache).toBe("accepted");
    expect((second.exports as Bundle).sum([4, 5])).toBe(9);
  });

  it("keeps one cache per variant, and a new build replaces every cache of the old one", () => {
    load("status").save();
    load("up").save();
    expect(caches()).toHaveLength(2);
    writeBundle(22); // another size: another build
    const rebuilt = load("status");
    expect(rebuilt.cache).toBe("missing");
    expect((rebuilt.exports as Bundle).version).toBe(22);
    rebuilt.save();
    expect(caches()).toEqual([expect.stringMatching(/\.status\.cache$/)]);
    expect(load("status").cache).toBe("accepted");
  });

  it("a cache V8 refuses is reported and written again", () => {
    // A source this process has not compiled yet: V8 answers a known one from memory, cache unread.
    writeBundle(333);
    mkdirSync(dir);
    writeFileSync(join(dir, cacheName(file, "status").file), withHeader(1e6, Buffer.alloc(4096, 7)));
    const refused = load();
    expect(refused.cache).toBe("rejected");
    expect((refused.exports as Bundle).version).toBe(333);
    refused.save();
    expect(load().cache).toBe("accepted");
  });

  it("a cache written by a short run is written again by a run that compiles much more, then kept", () => {
    const first = load();
    first.save();
    const path = join(dir, caches()[0] ?? "");
    // As if a `--help` had written it: it says its run ended with almost no bytecode.
    const data = readFileSync(path).subarray(13);
    writeFileSync(path, withHeader(1, data));
    const fuller = requireCached(file, { dir, variant: "status", refreshEvery: 1 });
    expect(fuller.cache).toBe("accepted");
    fuller.save();
    const recorded = readFileSync(path).readDoubleLE(5);
    expect(recorded).toBeGreaterThan(1000);
    const same = requireCached(file, { dir, variant: "status", refreshEvery: 1 });
    same.save();
    expect(readFileSync(path).readDoubleLE(5)).toBe(recorded);
  });

  it("a file without the header (another version's) counts as no cache", () => {
    writeBundle(4444);
    mkdirSync(dir);
    writeFileSync(join(dir, cacheName(file, "status").file), Buffer.alloc(64, 1));
    expect(load().cache).toBe("missing");
  });

  it("without a directory: Node's own loader, nothing written", () => {
    const m = requireCached(file, { dir: undefined, variant: "status" });
    expect(m.cache).toBe("off");
    expect((m.exports as Bundle).sum([2, 2])).toBe(4);
    m.save();
    expect(readdirSync(root)).toEqual(["bundle.cjs"]);
  });

  it("a cache that cannot be written costs nothing but speed", () => {
    writeFileSync(dir, "a file where the directory would be");
    const m = load();
    expect(() => m.save()).not.toThrow();
    expect((m.exports as Bundle).version).toBe(1);
  });
});

describe("commandWord and cacheVariant (one code cache per set of V8 flags)", () => {
  it.each([
    [["status"], "status", "status"],
    [["-c", "x.yaml", "up", "--no-cluster"], "up", "up"],
    [["--config", "status", "verify"], "verify", "verify"],
    [["--json", "storage", "ls"], "storage", "storage-ls"],
    [["-c", "x.yaml", "storage", "ls"], "storage", "storage-ls"],
    [["storage", "--json", "ls"], "storage", "storage-ls"],
    [["storage", "get", "ls"], "storage", "storage-get"],
    [["-c", "storage", "storage", "ls"], "storage", "storage-ls"],
    [["storage", "Get"], "storage", "storage"],
    [["storage"], "storage", "storage"],
    [["--help"], "none", "none"],
    [[], "none", "none"],
    [["Stat/us"], "other", "other"],
  ])("%j is %s, cached as %s", (words, word, variant) => {
    expect(commandWord(["node", "bin/dify-local.js", ...words])).toBe(word);
    expect(cacheVariant(["node", "bin/dify-local.js", ...words])).toBe(variant);
  });
});

describe("codeCacheDir", () => {
  it("is under dify-local's cache directory, and off with DIFY_LOCAL_CODE_CACHE=0", () => {
    expect(codeCacheDir({ DIFY_LOCAL_CACHE_DIR: "/c" })).toBe("/c/code-cache");
    expect(codeCacheDir({ DIFY_LOCAL_CACHE_DIR: "/c", DIFY_LOCAL_CODE_CACHE: "0" })).toBeUndefined();
  });
});

describe("v8FlagsFor", () => {
  it("is the same for every run of a command; storage ls and cp favour memory, get speed", () => {
    expect(v8FlagsFor(["node", "bin", "status"])).toBe("--liftoff-only --expose-gc");
    const lean = "--liftoff-only --expose-gc --optimize-for-size --semi-space-growth-factor=1";
    expect(v8FlagsFor(["node", "bin", "--json", "storage", "ls"])).toBe(lean);
    expect(v8FlagsFor(["node", "bin", "storage", "--json", "ls", "--prefix", "a"])).toBe(lean);
    expect(v8FlagsFor(["node", "bin", "storage", "cp", "f", "ls"])).toBe(lean);
    expect(v8FlagsFor(["node", "bin", "storage", "get", "k"])).toBe("--liftoff-only --expose-gc");
  });
});
