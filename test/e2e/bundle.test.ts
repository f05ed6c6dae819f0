/**
 * The shipped CLI is a bundle (scripts/bundle-cli.mjs) that leaves a few libraries in node_modules,
 * loaded when first used: @kubernetes/client-node, ssh2 and dockerode's BuildKit session. These
 * tests hold the package together as a user installs it: the bin loads the bundle through V8's code
 * cache, the package's files carry it, and each library left out loads from where the bundle is.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { BIN, runCli } from "../support/cli.js";

const run = promisify(execFile);

/** The bundle the bin loads (its `join(__dirname, "...")`), from its own source, not a copy of the path here. */
async function bundleEntry(): Promise<string> {
  const source = await readFile(BIN, "utf8");
  const target = /join\(__dirname, "(\.[^"]+)"\)/.exec(source)?.[1];
  if (!target) throw new Error(`${BIN} loads no bundle`);
  return resolve(dirname(BIN), target);
}

/** The bin's own relative requires (the code-cache loader), and theirs, transitively: paths from the package root. */
async function importsOf(file: string): Promise<Set<string>> {
  const seen = new Set<string>();
  const todo = [file];
  for (let f = todo.pop(); f !== undefined; f = todo.pop()) {
    const rel = relative(resolve("."), f);
    if (seen.has(rel)) continue;
    seen.add(rel);
    const source = await readFile(f, "utf8");
    for (const m of source.matchAll(/require\("(\.[^"]+\.c?js)"\)/g)) todo.push(resolve(dirname(f), m[1] ?? ""));
  }
  return seen;
}

describe("the bundled CLI", () => {
  it("is what the bin runs, and npm's package carries the bin (CommonJS, by its package.json), its loader and the bundle", async () => {
    const entry = await bundleEntry();
    expect(relative(resolve("."), entry)).toBe("dist/cli-bundle/main.cjs");
    const { stdout } = await run("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"]);
    const [pack] = JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>;
    const files = new Set(pack?.files.map((f) => f.path));
    const needed = await importsOf(BIN);
    expect(needed).toContain("dist/cli-bundle/launch.cjs");
    // Without it, the bin would be an ES module (the package's "type") and could not start.
    expect(JSON.parse(await readFile(resolve("bin/package.json"), "utf8"))).toEqual({ type: "commonjs" });
    for (const f of [...needed, "bin/package.json", "dist/cli-bundle/main.cjs", "dist/cli-bundle/esm-import.cjs"])
      expect(files).toContain(f);
  });

  it("keeps V8's code cache per command: the second run of a command uses what the first one saved", async () => {
    const cache = await mkdtemp(join(tmpdir(), "dl-e2e-code-cache-"));
    try {
      const env = { DIFY_LOCAL_CACHE_DIR: cache };
      const first = await runCli(["--help", "--timings"], resolve("."), env);
      expect(first.code).toBe(0);
      expect(first.stderr).toContain("CLI modules (code cache missing)");
      const second = await runCli(["--help", "--timings"], resolve("."), env);
      expect(second.stderr).toContain("CLI modules (code cache accepted)");
      expect(second.stdout).toBe(first.stdout);
      // Another command has its own; a failing run (exit 2) saves none.
      const other = await runCli(["values", "--no-such-flag", "--timings"], resolve("."), env);
      expect(other.code).toBe(2);
      expect(other.stderr).toContain("CLI modules (code cache missing)");
      expect((await readdir(join(cache, "code-cache"))).map((f) => f.replace(/^.*\.(\w+)\.cache$/, "$1"))).toEqual(["none"]);
      const off = await runCli(["--help", "--timings"], resolve("."), { ...env, DIFY_LOCAL_CODE_CACHE: "0" });
      expect(off.stderr).toContain("CLI modules (code cache off)");
    } finally {
      await rm(cache, { recursive: true, force: true });
    }
  });

  it("--version prints package.json's version, as the installed package has it", async () => {
    const { version } = JSON.parse(await readFile(resolve("package.json"), "utf8")) as { version: string };
    for (const flag of ["--version", "-V"]) {
      const r = await runCli([flag], resolve("."));
      expect([r.code, r.stdout, r.stderr]).toEqual([0, `${version}\n`, ""]);
    }
    expect((await runCli(["--help"], resolve("."))).stdout).toContain("-V, --version");
  });

  it("loads each library it leaves out from node_modules, as resolved from the bundle", async () => {
    const require = createRequire(await bundleEntry());
    expect(typeof (require("ssh2") as { Client?: unknown }).Client).toBe("function");
    expect(typeof require("dockerode/lib/session.js")).toBe("function");
    const k8s = (await import(pathToFileURL(require.resolve("@kubernetes/client-node")).href)) as { KubeConfig?: unknown };
    expect(typeof k8s.KubeConfig).toBe("function");
    // The one ES module the bundle loads, through the file beside it that Node's loader compiles.
    const esmImport = require("./esm-import.cjs") as (specifier: string) => Promise<{ KubeConfig?: unknown }>;
    expect((await esmImport("@kubernetes/client-node")).KubeConfig).toBe(k8s.KubeConfig);
  });

  it("reaches an engine over ssh:// through ssh2, loaded on first use (exit 3 naming the host, not a missing module)", async () => {
    const r = await runCli(["status"], resolve("."), { DOCKER_HOST: "ssh://nobody@127.0.0.1:1" });
    expect(r.stderr).toContain("No Docker engine is reachable at ssh://nobody@127.0.0.1:1");
    expect(r.stderr).not.toMatch(/Cannot find|ERR_MODULE/);
    expect(r.code).toBe(3);
  });
});
