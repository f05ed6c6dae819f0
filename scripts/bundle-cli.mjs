// The CLI as a few bundled files under dist/cli-bundle/ (part of `npm run build`; bin/dify-local.js
// loads them). Node loads one bundled file much faster than the hundreds of small modules the client
// libraries are made of (`npm run bench` has the numbers; README, Performance). Each command's code
// and each client library stay separate chunks, loaded when a command first needs them. The
// library (`import "dify-local"`) is tsc's output in dist/, unchanged.
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
import { readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);

/** Exact source lines of a library replaced by a require on first use (`[file, line, replacement]`). */
const DEFERRED = [
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

// Chunk names carry content hashes: the previous build's would stay beside the new ones.
await rm("dist/cli-bundle", { recursive: true, force: true });
await build({
  entryPoints: { main: "src/cli/main.ts" },
  outdir: "dist/cli-bundle",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  external: ["@kubernetes/client-node", "ssh2", "dockerode/lib/session.js", "dockerode/lib/buildkit.js", "cpu-features"],
  plugins: [deferRequires, qdrantBrowserBuild],
  // The bundled CommonJS libraries call require() and read __dirname; an ES module has neither.
  banner: {
    js: [
      'import { createRequire as __bundleRequire } from "node:module";',
      'import { fileURLToPath as __bundleFileURLToPath } from "node:url";',
      'import { dirname as __bundleDirname } from "node:path";',
      "const require = __bundleRequire(import.meta.url);",
      "const __filename = __bundleFileURLToPath(import.meta.url);",
      "const __dirname = __bundleDirname(__filename);",
    ].join(" "),
  },
  minify: process.env.BUNDLE_MINIFY === "1",
  keepNames: true,
  sourcemap: "linked",
  logLevel: "warning",
});
