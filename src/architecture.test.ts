import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * The layers of src/, lowest first: a folder may import from its own layer's folder and from
 * lower ones, never from a higher one, and no two folders import each other (no cycles).
 * Top-level modules (errors.ts, index.ts) count as their own layers: errors at the bottom, the
 * public index at the top.
 */
const LAYERS = [
  "errors.ts",
  "util",
  "runtime",
  "engine",
  "helm",
  "services",
  "config",
  "cluster",
  "stack",
  "doctor",
  "commands",
  "cli",
  "index.ts",
];

const SRC = dirname(fileURLToPath(import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    // Tests may assemble several layers; the rule is for the product's code.
    return name.endsWith(".ts") && !name.endsWith(".test.ts") ? [path] : [];
  });
}

/** The layer a file belongs to: its top folder under src/, or its own name at the top. */
function unitOf(file: string): string {
  return relative(SRC, file).split("/")[0] ?? "";
}

/** Every relative import (static, dynamic, re-export, type-only) of a file, as absolute paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specs = [...text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)["'](\.[^"']+)["']/g)].map((m) => m[1] ?? "");
  return specs.map((s) => resolve(dirname(file), s.replace(/\.js$/, ".ts")));
}

function edges(): Array<{ from: string; to: string; file: string }> {
  return sourceFiles(SRC).flatMap((file) =>
    importsOf(file)
      .map((target) => ({ from: unitOf(file), to: unitOf(target), file: relative(SRC, file) }))
      .filter((e) => e.from !== e.to),
  );
}

describe("the layering of src/", () => {
  const all = edges();

  it("knows every folder", () => {
    const units = new Set(sourceFiles(SRC).map(unitOf));
    expect([...units].filter((u) => !LAYERS.includes(u))).toEqual([]);
  });

  it("has no import from a lower layer into a higher one", () => {
    const upward = all.filter((e) => LAYERS.indexOf(e.to) > LAYERS.indexOf(e.from)).map((e) => `${e.file} imports ${e.to}`);
    expect(upward).toEqual([]);
  });

  it("has no cycle between folders", () => {
    const pairs = new Set(all.map((e) => `${e.from}>${e.to}`));
    const cycles = [...pairs].filter((p) => {
      const [a, b] = p.split(">");
      return pairs.has(`${b}>${a}`);
    });
    expect(cycles).toEqual([]);
  });

  it("has commands that do not import each other", () => {
    const between = sourceFiles(join(SRC, "commands")).flatMap((file) =>
      importsOf(file)
        .filter((t) => dirname(t) === join(SRC, "commands") && t !== file)
        .map((t) => `${relative(SRC, file)} imports ${relative(SRC, t)}`),
    );
    expect(between.filter((b) => !b.startsWith("commands/index.ts"))).toEqual([]);
  });
});
