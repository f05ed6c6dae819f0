#!/usr/bin/env node
// Thin launcher so `npx dify-local` works from a clone once `npm install` has built dist/. It loads
// the bundled CLI (scripts/bundle-cli.mjs), which starts faster than tsc's many modules in dist/.
// `started` (ms since the process started) lets --timings tell Node's start from module loading.
const started = performance.now();
const { main } = await import("../dist/cli-bundle/main.js");

process.exitCode = await main(process.argv, { started });
