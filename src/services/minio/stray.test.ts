import { describe, expect, it } from "vitest";
import { strayFiles } from "./index.js";

describe("strayFiles", () => {
  const keys = new Set(["privkeys/t1/private.pem", "assets/icon.png", "a"]);

  it("accounts for MinIO's per-key directories (xl.meta, data parts) and the old FS mode's file-per-key", () => {
    expect(strayFiles(["privkeys/t1/private.pem/xl.meta", "assets/icon.png/5d1c/part.1", "a", "a/xl.meta"], keys)).toEqual([]);
  });

  it("names a file beside an object whose name begins with its key", () => {
    expect(strayFiles(["privkeys/t1/private.pem.bak", "privkeys/t1/private.pem/xl.meta"], keys)).toEqual(["privkeys/t1/private.pem.bak"]);
  });

  it("names files under no key, including ones inside a prefix that is no object", () => {
    expect(strayFiles(["copied.difypkg", "privkeys/t2/private.pem", "ab/xl.meta"], keys)).toEqual([
      "copied.difypkg",
      "privkeys/t2/private.pem",
      "ab/xl.meta",
    ]);
  });
});
