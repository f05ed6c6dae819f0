#!/usr/bin/env node
// Thin launcher so `npx dify-local` works from a clone once `npm install` has built dist/. It loads
// the bundled CLI (scripts/bundle-cli.mjs) through V8's code cache (src/cli/code-cache.ts): the
// next run of the same command skips compiling it. `started` (ms since the process started) lets
// --timings tell Node's start from module loading.
//
// CommonJS (bin/package.json), with nothing here or in what it loads that is an ES module: an ES
// module entry point makes Node load and run its ES module loader before anything else, about 3 ms
// of every command. `process.uptime()` rather than `performance.now()`, which loads perf_hooks.
"use strict";
const started = process.uptime() * 1000;
const { join } = require("node:path");
const { cacheVariant, codeCacheDir, requireCached, v8FlagsFor } = require("../dist/cli-bundle/launch.cjs");
// V8's flags, per command (their reasons are with v8FlagsFor); set before anything compiles.
require("node:v8").setFlagsFromString(v8FlagsFor(process.argv));
// With --verbose, stack traces point into the TypeScript sources through the bundle's source map:
// Node's own loader (no code cache) maps them.
const verbose = process.argv.includes("--verbose");
if (verbose) process.setSourceMapsEnabled(true);
const cli = requireCached(join(__dirname, "../dist/cli-bundle/main.cjs"), {
  dir: verbose ? undefined : codeCacheDir(),
  variant: cacheVariant(process.argv),
});

// Should the work below ever stop with nothing left to run, Node would end the process with this
// code (an ES module's unsettled top-level await ended it with 13); every ending of the work sets its own.
process.exitCode = 1;
void (async () => {
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
})();
