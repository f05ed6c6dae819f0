import { describe, expect, it } from "vitest";
import { LsRecursiveReader, ListingRefused, unescapeLs } from "./listers.js";

// What GNU ls 9.1 printed for `LC_ALL=C ls -RUAbp /tmp/lstd` over a directory of awkward names.
const OUTPUT = [
  "/tmp/lstd:",
  "noperm/",
  "#h",
  "col:dir/",
  'dq"x',
  "nl\\ndir/",
  "sub\\ dir/",
  "quo'te",
  "nl\\nx",
  "a\\ b",
  "x:",
  "emptyd/",
  "tab\\tx",
  "\\303\\251",
  "a*?[",
  "-dash",
  "\\303\\251\\ dir/",
  "back\\\\slash",
  "",
  "/tmp/lstd/noperm:",
  "",
  "/tmp/lstd/col\\:dir:",
  "g",
  "",
  "/tmp/lstd/nl\\ndir:",
  "f",
  "xl.meta",
  "",
  "/tmp/lstd/sub dir:",
  "f",
  "",
  "/tmp/lstd/emptyd:",
  "",
  "/tmp/lstd/\\303\\251 dir:",
  "",
].join("\n");

const EXPECTED = [
  "#h",
  'dq"x',
  "quo'te",
  "nl\nx",
  "a b",
  "x:",
  "tab\tx",
  "é",
  "a*?[",
  "-dash",
  "back\\slash",
  "col:dir/g",
  "nl\ndir/f",
  "sub dir/f",
];

describe("unescapeLs", () => {
  it("undoes C-style escapes and octal bytes, read as UTF-8", () => {
    expect(unescapeLs("plain")).toBe("plain");
    expect(unescapeLs("a\\ b\\:c\\\\d\\ne\\tf")).toBe("a b:c\\d\ne\tf");
    expect(unescapeLs("\\303\\251t\\303\\251")).toBe("été");
    expect(unescapeLs("\\001x")).toBe("\u0001x");
  });
});

describe("LsRecursiveReader", () => {
  it("gives every entry that is not a directory, with its path, leaving excluded names out", () => {
    const reader = new LsRecursiveReader("/tmp/lstd", ["xl.meta"]);
    expect([...reader.push(OUTPUT), ...reader.end()].map((r) => r.path)).toEqual(EXPECTED);
  });

  it("reads the same whatever the pieces the stream comes in", () => {
    for (const size of [1, 3, 7, 64]) {
      const reader = new LsRecursiveReader("/tmp/lstd", ["xl.meta"]);
      const got: string[] = [];
      for (let i = 0; i < OUTPUT.length; i += size) got.push(...reader.push(OUTPUT.slice(i, i + size)).map((r) => r.path));
      got.push(...reader.end().map((r) => r.path));
      expect(got).toEqual(EXPECTED);
    }
  });

  it("refuses output that is not a recursive listing of that directory", () => {
    expect(() => new LsRecursiveReader("/data/dify").push("BusyBox v1.36 multi-call binary.\n")).toThrow(ListingRefused);
    expect(() => new LsRecursiveReader("/data/dify").push("/data/other:\nx\n")).toThrow(ListingRefused);
    // A sub-directory's section cannot come first.
    expect(() => new LsRecursiveReader("/data/dify").push("/data/dify/a:\nx\n")).toThrow(ListingRefused);
  });
});
