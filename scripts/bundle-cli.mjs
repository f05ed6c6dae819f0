// The CLI as one bundled file, dist/cli-bundle/main.cjs (part of `npm run build`; bin/dify-local.js
// loads it through V8's code cache, src/cli/code-cache.ts). Node loads one bundled file much faster
// than the hundreds of small modules the client libraries are made of (`npm run bench` has the
// numbers; README, Performance). Each command's code and each client library run only when a
// command first needs them. The library (`import "dify-local"`) is tsc's output in dist/, unchanged.
//
// What stays out of the bundle, loaded from node_modules when it is used:
// - @kubernetes/client-node (14 MB bundled): only commands that touch the cluster load it;
// - ssh2 (DOCKER_HOST=ssh://) and dockerode's BuildKit session and progress decoder (gRPC,
//   protobufjs), which dockerode and docker-modem require although only those features use them
//   (bundled, their code is parsed at every start): the plugin below turns the `require` lines
//   into a require from node_modules on first use. The build fails when the lines
//   changed, so a new dockerode is looked at, not silently loaded eagerly.
// And one entry point chosen: @qdrant/js-client-rest's own browser build, the same client on
// Node's global fetch, instead of its Node build that bundles undici (0.8 MB) for a connection pool.
import { build } from "esbuild";
import { existsSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);

/**
 * Exact source lines of a library replaced (`[file, line, replacement]`): requires made on first
 * use, one check skipped, and one debug line formatted only when it is printed. pg asks "am I in
 * a Cloudflare Worker?" when loaded, and on Node 20 (no `navigator`) answers by building a
 * `Response`, which loads Node's undici: about 20 ms of every command that talks to PostgreSQL,
 * for an answer that is always no under Node.
 */
const DEFERRED = [
  ["pg/lib/stream.js", "  if (isCloudflareRuntime()) {", "  if (!process.versions.node && isCloudflareRuntime()) {"],
  [
    "docker-modem/lib/ssh.js",
    "var Client = require('ssh2').Client,",
    "var Client = function () { var C = require('ssh2').Client; return new C(); },",
  ],
  [
    "dockerode/lib/docker.js",
    "withSession = require('./session'),",
    "withSession = function () { return require('dockerode/lib/session.js').apply(this, arguments); },",
  ],
  ["dockerode/lib/docker.js", "var buildkit = require('./buildkit');", "var buildkit = require('dockerode/lib/buildkit.js');"],
  // Node modules every command loaded for features no command of this CLI uses: dockerode's tar-fs
  // and zlib (packing a build context) and redis-errors' assert (checking a parser error's
  // arguments) are now required where they are used (A/B, 31 alternating runs: `status` and
  // `verify` 1-2 ms less).
  [
    "dockerode/lib/util.js",
    "var tar = require('tar-fs');",
    "var tar = { pack: function () { var t = require('tar-fs'); return t.pack.apply(t, arguments); } };",
  ],
  [
    "dockerode/lib/util.js",
    "var zlib = require('zlib');",
    "var zlib = { createGzip: function () { return require('zlib').createGzip.apply(null, arguments); } };",
  ],
  [
    "redis-errors/lib/modern.js",
    "const assert = require('assert')",
    "const assert = (v) => require('assert')(v)\nassert.strictEqual = (a, b) => require('assert').strictEqual(a, b)",
  ],
  // ioredis gives its client a method per Redis command (287, twice: string and Buffer replies) by
  // adding each to a class's prototype, one at a time: V8 makes every addition to an object that
  // is already a prototype slow (7 ms for these in a script by itself, 0.3 ms the way below). The
  // same methods on a plain object made the prototype of that prototype: every client and pipeline
  // finds them as before, by inheritance, and its own methods still come first. A/B, 41
  // alternating runs: `status` 141 -> 135 ms, `verify` 155 -> 145, peak RSS of `status` 68 -> 62 MB.
  [
    "ioredis/built/utils/Commander.js",
    `commands.forEach(function (commandName) {
    Commander.prototype[commandName] = generateFunction(commandName, commandName, "utf8");
    Commander.prototype[commandName + "Buffer"] = generateFunction(commandName + "Buffer", commandName, null);
});`,
    `const commandMethods = {};
commands.forEach(function (commandName) {
    commandMethods[commandName] = generateFunction(commandName, commandName, "utf8");
    commandMethods[commandName + "Buffer"] = generateFunction(commandName + "Buffer", commandName, null);
});
Object.setPrototypeOf(Commander.prototype, commandMethods);`,
  ],
  // docker-modem formats every request's options in full (`showHidden`, no depth limit) for its
  // debug line, whether DEBUG turns that line on or not: only when it does (about 2 ms of `up`).
  [
    "docker-modem/lib/modem.js",
    "  debug('Sending: %s', util.inspect(options, {",
    "  if (debug.enabled) debug('Sending: %s', util.inspect(options, {",
  ],
];

/** @type {import("esbuild").Plugin} */
const deferRequires = {
  name: "defer-requires",
  setup(b) {
    // One loader per file: esbuild runs only the first onLoad that matches a path.
    for (const file of new Set(DEFERRED.map(([f]) => f))) {
      const path = require.resolve(file);
      b.onLoad({ filter: new RegExp(`${path.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}$`) }, async () => {
        let source = await readFile(path, "utf8");
        for (const [, line, replacement] of DEFERRED.filter(([f]) => f === file)) {
          if (!source.includes(line))
            throw new Error(`${file} no longer has the line \`${line}\`: look at the new version and update scripts/bundle-cli.mjs`);
          source = source.replace(line, replacement);
        }
        return { contents: source, loader: "js", resolveDir: dirname(path) };
      });
    }
  },
};

/** @type {import("esbuild").Plugin} */
const qdrantBrowserBuild = {
  name: "qdrant-browser-build",
  setup(b) {
    // Its package exports only ".", whose "require" condition is dist/cjs/index.js; the browser build is beside it.
    const browser = join(dirname(require.resolve("@qdrant/js-client-rest")), "../browser/index.js");
    if (!existsSync(browser))
      throw new Error(`${browser} is missing: look at the new @qdrant/js-client-rest and update scripts/bundle-cli.mjs`);
    b.onResolve({ filter: /^@qdrant\/js-client-rest$/ }, () => ({ path: browser }));
  },
};

/**
 * The bundle has no `import()`: code V8 restores from a code cache cannot run one on Node 20
 * (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING). The one ES-module-only library it loads,
 * @kubernetes/client-node, comes through `esm-import.cjs` beside it, a file Node's own loader
 * compiles (src/cluster/k8s-client.ts is that library's one import).
 */
const ESM_IMPORT = "./esm-import.cjs";
/** @type {import("esbuild").Plugin} */
const esmThroughNode = {
  name: "esm-through-node",
  setup(b) {
    b.onLoad({ filter: /src[\\/]cluster[\\/]k8s-client\.ts$/ }, () => ({
      contents: `export function loadK8s() { return require(${JSON.stringify(ESM_IMPORT)})("@kubernetes/client-node"); }`,
      loader: "js",
    }));
  },
};

await rm("dist/cli-bundle", { recursive: true, force: true });
const { metafile } = await build({
  entryPoints: ["src/cli/main.ts"],
  metafile: true,
  outfile: "dist/cli-bundle/main.cjs",
  bundle: true,
  // CommonJS, one file: Node 20 takes V8's code cache only for scripts it compiles itself
  // (src/cli/code-cache.ts), not for ES modules. The libraries' code still runs only when a
  // command first imports them: esbuild wraps each in a function called on first use.
  format: "cjs",
  platform: "node",
  target: "node20",
  external: ["@kubernetes/client-node", "ssh2", "dockerode/lib/session.js", "dockerode/lib/buildkit.js", "cpu-features", ESM_IMPORT],
  plugins: [deferRequires, qdrantBrowserBuild, esmThroughNode],
  // The one use of import.meta (the package's version, read from package.json beside dist/).
  define: { "import.meta.url": "__bundleUrl" },
  banner: { js: 'var __bundleUrl = require("node:url").pathToFileURL(__filename).href;' },
  // Half the bytes to read at each start (and what V8 does not find in the cache, to parse).
  // Names stay: error classes are told apart by name, and --verbose maps stack traces back
  // through the source map.
  minify: process.env.BUNDLE_MINIFY !== "0",
  keepNames: true,
  sourcemap: "linked",
  logLevel: "warning",
});
// The bin's own helper (src/cli/code-cache.ts), as CommonJS too: the bin is a CommonJS file
// (bin/package.json) because an ES module entry point makes Node load its ES module loader first,
// about 3 ms of every command (measured on an empty file), and one import() would load it again.
await build({
  entryPoints: ["src/cli/code-cache.ts"],
  outfile: "dist/cli-bundle/launch.cjs",
  bundle: true,
  format: "cjs",
  platform: "node",
  target: "node20",
  logLevel: "warning",
});
await writeFile(
  join("dist/cli-bundle", ESM_IMPORT),
  "// Loads an ES module for the bundle (scripts/bundle-cli.mjs): Node's loader compiles this file, so import() works here.\nmodule.exports = (specifier) => import(specifier);\n",
);
// What esbuild left as import() in the output (an external loaded on first use): none may be.
const dynamic = Object.values(metafile.outputs).flatMap((o) => o.imports.filter((i) => i.kind === "dynamic-import").map((i) => i.path));
if (dynamic.length > 0)
  throw new Error(
    `dist/cli-bundle/main.cjs has import() of ${dynamic.join(", ")}: a static import, or a load through ${ESM_IMPORT} (see esmThroughNode)`,
  );
