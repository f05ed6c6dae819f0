#!/usr/bin/env node
// Thin launcher so `npx dify-local` works from a clone once `npm install` has built dist/. It loads
// the bundled CLI (scripts/bundle-cli.mjs), which starts faster than tsc's many modules in dist/.
// `started` (ms since the process started) lets --timings tell Node's start from module loading.
const started = performance.now();
// WebAssembly with V8's baseline compiler only: Node's HTTP parser behind fetch (llhttp, used by
// the registry and Qdrant probes) is WebAssembly, and its optimising compile took about 30 MB and
// 40 ms of every status, verify and up (measured, README "Performance") for the few responses a
// command parses. Set before anything compiles WebAssembly; it changes nothing else.
(await import("node:v8")).setFlagsFromString("--liftoff-only");
const { main } = await import("../dist/cli-bundle/main.js");

process.exitCode = await main(process.argv, { started });
