import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { createRequire, Module } from "node:module";
import { basename, dirname, join } from "node:path";
import { cachedDataVersionTag, getHeapCodeStatistics } from "node:v8";
import { Script } from "node:vm";
import { cacheDir } from "../util/cache-dir.js";

/**
 * Loads the bundled CLI (one CommonJS file) with V8's code cache, the way Node 22's
 * `module.enableCompileCache()` does for every module; Node 20 has no such switch and its ES module
 * loader takes no cached data, hence a CommonJS bundle compiled here. A cache holds the bytecode of
 * every function the run compiled, so the next run of the same command skips V8's parsing and
 * compiling of the bundle and its libraries (README, Performance: about 60 ms of `status`).
 *
 * One cache per bundle build, Node version and command (the first word of the command line):
 * `--help` then reads a small cache, and `status` one that holds the probes. V8 checks the cache
 * against its own version and flags and rejects a mismatch; the build (file size and mtime) is
 * in the name, since V8 checks only the source's length.
 */
export interface CachedModule {
  /** The module's `module.exports`. */
  exports: unknown;
  /** What the cache did: none kept (disabled), none yet, used, or refused by V8. A used one is written again when the run compiled much more than it held. */
  cache: "off" | "missing" | "accepted" | "rejected";
  /**
   * Writes the cache when there was none, V8 refused it, or (asked by one run in eight) the run
   * ended with a fifth more bytecode than the run that wrote it: call it once the command has done
   * its work, so the functions it ran are in it.
   * Never throws: a cache is an optimisation.
   */
  save(): void;
}

/** Options of {@link requireCached}. */
export interface CodeCacheOptions {
  /** Where caches live; undefined: no cache, Node's own loader (which maps stack traces when source maps are on). */
  dir: string | undefined;
  /** Which run this is (a command name): runs of different kinds keep different caches. */
  variant: string;
  /** One run in this many (by pid) asks whether it compiled much more than its cache held (default 8). */
  refreshEvery?: number;
}

/** Loads a CommonJS file as `require` would, through a code cache in `options.dir`. */
export function requireCached(file: string, options: CodeCacheOptions): CachedModule {
  // Node's own loader: with source maps on (--verbose), it maps stack traces back to the sources.
  if (options.dir === undefined) return { exports: createRequire(file)(file) as unknown, cache: "off", save() {} };
  const dir = options.dir;
  const name = cacheName(file, options.variant);
  const path = join(dir, name.file);
  const source = readFileSync(file, "utf8");
  const stored = readCache(path);
  const script = new Script(Module.wrap(source), {
    filename: file,
    ...(stored ? { cachedData: stored.data } : {}),
    // No import() in the file: restored from a cache, Node 20 cannot run one (scripts/bundle-cli.mjs).
  });
  // Only the number is kept: the 2 MB of cached data are V8's objects now (a command's peak memory).
  const storedBytecode = stored?.bytecode;
  // V8's version, flags and CPU: a cache made after something changed V8's flags at run time
  // (the bin sets them all before this, see v8FlagsFor) would be refused by every next run, so
  // such a run writes none.
  const tag = cachedDataVersionTag();
  const cache: CachedModule["cache"] = !stored ? "missing" : script.cachedDataRejected ? "rejected" : "accepted";
  const module = { exports: {} as unknown };
  const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
  wrapper.call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
  let saved = false;
  return {
    exports: module.exports,
    cache,
    save() {
      if (saved || cachedDataVersionTag() !== tag) return;
      // A cache made by a short run (`up --dry-run`, a `--help`) lacks most of what a full run
      // compiles: a run that ends with much more bytecode than the one that wrote the cache writes
      // it again (making one costs about 10 ms, so only then). Asking V8 walks its heap (about
      // 2 ms), so one run in eight asks, by its pid: a poor cache is replaced within a few runs.
      if (cache === "accepted" && (process.pid % (options.refreshEvery ?? REFRESH_EVERY) !== 0 || storedBytecode === undefined)) return;
      const bytecode = bytecodeSize();
      if (cache === "accepted" && bytecode <= (storedBytecode ?? 0) * REFRESH_GROWTH) return;
      saved = true;
      try {
        writeCache(dir, path, name, script.createCachedData(), bytecode);
      } catch {
        // A read-only or full disk only costs the next run its speed.
      }
    },
  };
}

/** How much more bytecode than the run that wrote the cache a run must end with to write it again. */
const REFRESH_GROWTH = 1.2;
/** One run in this many (by pid) compares its bytecode with the cache's. */
const REFRESH_EVERY = 8;

/**
 * The bytecode in V8's heap: the bundle's functions a run compiled or took from the cache, and
 * Node's own. Asking walks the heap: about 2 ms at the end of a run.
 */
function bytecodeSize(): number {
  return getHeapCodeStatistics().bytecode_and_metadata_size;
}

/**
 * The cache's file name: the bundle's name and build (size and mtime), Node's version and the
 * variant, e.g. `main.cjs.1590935-1764271234567.v20.20.2-x64.status.cache`.
 */
export function cacheName(file: string, variant: string): CacheName {
  const st = statSync(file);
  const bundle = `${basename(file)}.`;
  const build = `${bundle}${st.size}-${Math.round(st.mtimeMs)}.${process.version}-${process.arch}.`;
  return { file: `${build}${variant.replace(/[^a-z0-9-]/gi, "_")}.cache`, build, bundle };
}

/** A cache's file name, and the prefixes of its build's caches and of every cache of its bundle. */
export interface CacheName {
  file: string;
  build: string;
  bundle: string;
}

/** Written whole or not at all (a rename); caches of the same file's older builds are removed. */
function writeCache(dir: string, path: string, name: CacheName, data: Buffer, bytecode: number): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  const header = Buffer.alloc(HEADER);
  header.write(MAGIC, "latin1");
  header.writeDoubleLE(bytecode, MAGIC.length);
  writeFileSync(tmp, Buffer.concat([header, data]), { mode: 0o600 });
  renameSync(tmp, path);
  for (const f of readdirSync(dir)) {
    if (f.startsWith(name.bundle) && !f.startsWith(name.build) && f.endsWith(".cache")) {
      try {
        unlinkSync(join(dir, f));
      } catch {
        // Another process removed it first.
      }
    }
  }
}

/**
 * A cache file: a header (`dlcc1` and how much bytecode the run that wrote it ended with), then
 * V8's data. Undefined when missing or not in this form.
 */
function readCache(path: string): { data: Buffer; bytecode: number } | undefined {
  let file: Buffer;
  try {
    file = readFileSync(path);
  } catch {
    return undefined;
  }
  if (file.length <= HEADER || file.toString("latin1", 0, MAGIC.length) !== MAGIC) return undefined;
  return { data: file.subarray(HEADER), bytecode: file.readDoubleLE(MAGIC.length) };
}

const MAGIC = "dlcc1";
const HEADER = MAGIC.length + 8;

/**
 * Where the CLI keeps its code caches: `<cache dir>/code-cache` (see `cacheDir`), or none with
 * `DIFY_LOCAL_CODE_CACHE=0`.
 */
export function codeCacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.DIFY_LOCAL_CODE_CACHE === "0") return undefined;
  return join(cacheDir(env), "code-cache");
}

/**
 * V8's flags for a command line, set by the bin before the bundle compiles: the same for every run
 * of a command, so its code cache stays valid (V8 refuses a cache made under other flags).
 * - `--liftoff-only`: WebAssembly (Node's HTTP parser behind `fetch`) on the baseline compiler;
 *   optimising it took about 30 MB and 40 ms for the few responses a command parses.
 * - `--expose-gc`: commands that stream collect their young generation every few MB
 *   (src/util/memory.ts); it gives `gc` only to contexts made later, not to this one.
 * - For `storage ls`, whose garbage grows with the number of objects, `--optimize-for-size` (V8
 *   collects its old generation sooner) and `--semi-space-growth-factor=1` (its young generation
 *   stays at its first size instead of growing to 32 MB): a 10,000-object `storage ls` peaked at
 *   131 MB with neither, 110 MB with only the second, 102 MB with only the first, 88 MB with both,
 *   in the same time as with the first alone (measured; `npm run bench:scale`). The same for
 *   `storage cp`, which holds a 16 MB part at a time: uploading 256 MB peaked at 85 MB with them
 *   and 92 MB without (100 MB on a first run, before its code cache), in the same time. Not for
 *   `storage get`, which the stream bounds alone (src/util/meter.ts): with them, getting 256 MB
 *   took about 25% longer (1.45-1.55 s instead of 1.05-1.2 s) for about 85 MB instead of 90.
 */
export function v8FlagsFor(argv: readonly string[]): string {
  const lean = LEAN.has(cacheVariant(argv)) ? ["--optimize-for-size", "--semi-space-growth-factor=1"] : [];
  return ["--liftoff-only", "--expose-gc", ...lean].join(" ");
}

/** The command lines that run with V8's memory-saving flags (see {@link v8FlagsFor}). */
const LEAN = new Set(["storage-ls", "storage-cp"]);

/**
 * The name of a command line's code cache: its command word, and for `storage` its subcommand
 * too, since its subcommands run under different V8 flags ({@link v8FlagsFor}) and V8 refuses a
 * cache made under other flags.
 */
export function cacheVariant(argv: readonly string[]): string {
  const [word, sub] = words(argv);
  return word === "storage" && sub !== undefined && /^[a-z]+$/.test(sub) ? `storage-${sub}` : commandWord(argv);
}

/** Options that take a value, so that value is not taken for the command's name. */
const VALUED_GLOBALS = new Set(["-c", "--config"]);

/** The command's name in `argv` (node, script, then words): its first word that is not an option; `none` when there is none (`--help`). */
export function commandWord(argv: readonly string[]): string {
  const [word] = words(argv);
  if (word === undefined) return "none";
  return /^[a-z][a-z-]*$/.test(word) ? word : "other";
}

/** The words of `argv` (node, script, then words) that are neither options nor a global option's value. */
function words(argv: readonly string[]): string[] {
  const all = argv.slice(2);
  const found: string[] = [];
  for (let i = 0; i < all.length; i++) {
    const w = all[i] ?? "";
    if (VALUED_GLOBALS.has(w)) i++;
    else if (!w.startsWith("-")) found.push(w);
  }
  return found;
}
