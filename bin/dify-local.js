#!/usr/bin/env node
// Thin launcher so `npx dify-local` works from a clone once `npm install` has built dist/. It loads
// the bundled CLI (scripts/bundle-cli.mjs) through V8's code cache (src/cli/code-cache.ts): the
// next run of the same command skips compiling it. `started` (ms since the process started) lets
// --timings tell Node's start from module loading.
const started = performance.now();
const { cacheVariant, codeCacheDir, requireCached, v8FlagsFor } = await import("../dist/cli/code-cache.js");
// V8's flags, per command (their reasons are with v8FlagsFor); set before anything compiles.
(await import("node:v8")).setFlagsFromString(v8FlagsFor(process.argv));
// With --verbose, stack traces point into the TypeScript sources through the bundle's source map:
// Node's own loader (no code cache) maps them.
const verbose = process.argv.includes("--verbose");
if (verbose) process.setSourceMapsEnabled(true);
const { fileURLToPath } = await import("node:url");
const cli = requireCached(fileURLToPath(new URL("../dist/cli-bundle/main.cjs", import.meta.url)), {
  dir: verbose ? undefined : codeCacheDir(),
  variant: cacheVariant(process.argv),
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
