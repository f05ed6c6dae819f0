/**
 * The shipped CLI is a bundle (scripts/bundle-cli.mjs) that leaves a few libraries in node_modules,
 * loaded when first used: @kubernetes/client-node, ssh2 and dockerode's BuildKit session. These
 * tests hold the package together as a user installs it: the bin loads the bundle, the package's
 * files carry it, and each library left out loads from where the bundle is.
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { BIN, runCli } from "../support/cli.js";

const run = promisify(execFile);

/** The file of the CLI the bin imports (its one relative import), from its own source, not a copy of the path here. */
async function bundleEntry(): Promise<string> {
  const source = await readFile(BIN, "utf8");
  const target = /import\("(\.[^"]+)"\)/.exec(source)?.[1];
  if (!target) throw new Error(`${BIN} imports nothing`);
  return resolve(dirname(BIN), target);
}

/** The entry and every chunk it imports, statically or on first use, transitively (file names in its folder). */
async function chunksOf(entry: string): Promise<Set<string>> {
  const dir = dirname(entry);
  const seen = new Set<string>();
  const todo = [relative(dir, entry)];
  for (let f = todo.pop(); f !== undefined; f = todo.pop()) {
    if (seen.has(f)) continue;
    seen.add(f);
    const source = await readFile(resolve(dir, f), "utf8");
    for (const m of source.matchAll(/from "\.\/([^"]+\.js)"|import\("\.\/([^"]+\.js)"\)/g)) todo.push(m[1] ?? m[2] ?? "");
  }
  return seen;
}

describe("the bundled CLI", () => {
  it("is what the bin runs, and npm's package carries the bin and every file of the bundle", async () => {
    const entry = await bundleEntry();
    expect(relative(resolve("."), entry)).toBe("dist/cli-bundle/main.js");
    const { stdout } = await run("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"]);
    const [pack] = JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>;
    const files = new Set(pack?.files.map((f) => f.path));
    expect(files).toContain("bin/dify-local.js");
    const chunks = await chunksOf(entry);
    expect(chunks.size).toBeGreaterThan(5);
    for (const f of chunks) expect(files).toContain(`dist/cli-bundle/${f}`);
  });

  it("loads each library it leaves out from node_modules, as resolved from the bundle", async () => {
    const require = createRequire(await bundleEntry());
    expect(typeof (require("ssh2") as { Client?: unknown }).Client).toBe("function");
    expect(typeof require("dockerode/lib/session.js")).toBe("function");
    const k8s = (await import(pathToFileURL(require.resolve("@kubernetes/client-node")).href)) as { KubeConfig?: unknown };
    expect(typeof k8s.KubeConfig).toBe("function");
  });

  it("reaches an engine over ssh:// through ssh2, loaded on first use (exit 3 naming the host, not a missing module)", async () => {
    const r = await runCli(["status"], resolve("."), { DOCKER_HOST: "ssh://nobody@127.0.0.1:1" });
    expect(r.stderr).toContain("No Docker engine is reachable at ssh://nobody@127.0.0.1:1");
    expect(r.stderr).not.toMatch(/Cannot find|ERR_MODULE/);
    expect(r.code).toBe(3);
  });
});
