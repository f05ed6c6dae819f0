import { describe, expect, it } from "vitest";
import { strayFiles } from "./index.js";

describe("strayFiles", () => {
  it("accounts for MinIO's per-object directories: KEY/xl.meta and KEY/<uuid>/part.N", () => {
    expect(
      strayFiles([
        "privkeys/t1/private.pem/xl.meta",
        "plugin_packages/x.difypkg/xl.meta",
        "plugin_packages/x.difypkg/5d1c2f3a-1b2c-4d5e-8f90-0123456789ab/part.1",
        "plugin_packages/x.difypkg/5d1c2f3a-1b2c-4d5e-8f90-0123456789ab/part.12",
        "top/xl.meta",
      ]),
    ).toEqual([]);
  });

  it("names a file beside an object whose name begins with its key", () => {
    expect(strayFiles(["privkeys/t1/private.pem.bak", "privkeys/t1/private.pem/xl.meta"])).toEqual(["privkeys/t1/private.pem.bak"]);
  });

  it("names files that only look like parts or metadata", () => {
    expect(strayFiles(["copied.difypkg", "a/part.1", "a/not-a-uuid/part.1", "a/xl.meta.bak", "xl.meta2"])).toEqual([
      "copied.difypkg",
      "a/part.1",
      "a/not-a-uuid/part.1",
      "a/xl.meta.bak",
      "xl.meta2",
    ]);
  });
});
