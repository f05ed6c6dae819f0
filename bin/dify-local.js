#!/usr/bin/env node
// Thin launcher so `npx dify-local` works from a clone once `npm install` has built dist/. It loads
// the bundled CLI (scripts/bundle-cli.mjs) through V8's code cache (src/cli/code-cache.ts): the
// next run of the same command skips compiling it. `started` (ms since the process started) lets
// --timings tell Node's start from module loading.
const started = performance.now();
// WebAssembly with V8's baseline compiler only: Node's HTTP parser behind fetch (llhttp, used by
// the registry and Qdrant probes) is WebAssembly, and its optimising compile took about 30 MB and
// 40 ms of every status, verify and up (measured, README "Performance") for the few responses a
// command parses. Set before anything compiles WebAssembly; it changes nothing else.
(await import("node:v8")).setFlagsFromString("--liftoff-only");
// With --verbose, stack traces point into the TypeScript sources through the bundle's source map:
// Node's own loader (no code cache) maps them.
const verbose = process.argv.includes("--verbose");
if (verbose) process.setSourceMapsEnabled(true);
const { codeCacheDir, commandWord, requireCached } = await import("../dist/cli/code-cache.js");
const { fileURLToPath } = await import("node:url");
const cli = requireCached(fileURLToPath(new URL("../dist/cli-bundle/main.cjs", import.meta.url)), {
  dir: verbose ? undefined : codeCacheDir(),
  variant: commandWord(process.argv),
});

const code = await cli.exports.main(process.argv, { started, codeCache: cli.cache });
// Only a run that did its work: its cache holds the functions the command runs.
if (code === 0) cli.save();
// The command has finished all its work (connections closed, lock released, files written). Exit
// now instead of letting Node free its heap piece by piece, which took about 20 ms of every
// command (measured, README "Performance"); whatever is still queued for stdout or stderr (a
// pipe is asynchronous on macOS) goes out first.
for (const stream of [process.stdout, process.stderr]) {
  if (stream.writableLength > 0) await new Promise((resolve) => stream.once("drain", resolve).once("error", resolve));
}
process.exit(code);
