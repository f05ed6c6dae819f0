import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { ConflictError, OperationError, UserError } from "../errors.js";
import {
  artefactPath,
  artefactProblem,
  checkArtefacts,
  checkSnapshotName,
  configDigest,
  incompatibility,
  listSnapshots,
  readManifest,
  snapshotReader,
  snapshotsDir,
  SnapshotDraft,
  SNAPSHOT_FORMAT,
  timestampName,
  type SnapshotManifest,
} from "./snapshots.js";

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "dl-snap-unit-"));
  dirs.push(d);
  return d;
}
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

function manifestFor(draft: SnapshotDraft, name: string): SnapshotManifest {
  return {
    format: SNAPSHOT_FORMAT,
    name,
    createdAt: "2026-11-27T14:00:00.000Z",
    difyLocalVersion: "0.1.0",
    configDigest: "sha256:x",
    services: [{ service: "redis", container: "dev-redis", image: "redis:7", imageId: "sha256:1", artefacts: draft.written("redis") }],
    files: [],
  };
}

/** A snapshot "s1" with one streamed Redis artefact, committed. */
async function committed(dir: string): Promise<string> {
  const draft = await SnapshotDraft.begin(dir, "s1");
  await draft.writer("redis").write("dump.rdb", Readable.from([Buffer.from("REDIS"), Buffer.from("0011")]));
  await draft.commit(manifestFor(draft, "s1"));
  return draft.folder;
}

describe("where snapshots live", () => {
  it("DIFY_LOCAL_DATA_DIR, else XDG_DATA_HOME, else ~/.local/share; macOS's Application Support; --dir wins", () => {
    expect(snapshotsDir({ DIFY_LOCAL_DATA_DIR: "/d", XDG_DATA_HOME: "/x" }, undefined, "linux")).toBe("/d/snapshots");
    expect(snapshotsDir({ XDG_DATA_HOME: "/x", HOME: "/h" }, undefined, "linux")).toBe("/x/dify-local/snapshots");
    expect(snapshotsDir({ HOME: "/h" }, undefined, "linux")).toBe("/h/.local/share/dify-local/snapshots");
    expect(snapshotsDir({ HOME: "/h" }, undefined, "darwin")).toBe("/h/Library/Application Support/dify-local/snapshots");
    expect(snapshotsDir({ DIFY_LOCAL_DATA_DIR: "/d" }, "/mine", "linux")).toBe("/mine");
  });

  it("names: plain folder names only; the default is a sortable time", () => {
    expect(checkSnapshotName("before-upgrade_1.2")).toBe("before-upgrade_1.2");
    for (const bad of ["", ".hidden", "../up", "a/b", "a b", "x".repeat(101)]) expect(() => checkSnapshotName(bad)).toThrow(UserError);
    expect(timestampName(new Date("2026-11-27T14:07:15.123Z"))).toBe("2026-11-27T14-07-15Z");
    expect(timestampName(new Date("2026-11-27T14:07:15.123Z"), "pre-restore-")).toBe("pre-restore-2026-11-27T14-07-15Z");
  });
});

describe("manifest compatibility and artefact checks (pure)", () => {
  it("refuses a missing, newer or unknown format with the reason", () => {
    expect(incompatibility({ format: SNAPSHOT_FORMAT })).toBeUndefined();
    expect(incompatibility({})).toMatch(/not a dify-local snapshot/);
    expect(incompatibility(null)).toMatch(/not a dify-local snapshot/);
    expect(incompatibility({ format: SNAPSHOT_FORMAT + 1 })).toMatch(/newer dify-local .*upgrade/);
    expect(incompatibility({ format: 0 })).toMatch(/not one this dify-local reads/);
  });

  it("an artefact is missing, of another size, or of another sha256", () => {
    const a = { file: "redis/dump.rdb", size: 4, sha256: "a".repeat(64) };
    expect(artefactProblem(a, { size: 4, sha256: "a".repeat(64) })).toBeUndefined();
    expect(artefactProblem(a, undefined)?.problem).toBe("missing");
    expect(artefactProblem(a, { size: 5 })?.problem).toMatch(/5 bytes, the manifest says 4/);
    expect(artefactProblem(a, { size: 4, sha256: "b".repeat(64) })?.problem).toMatch(/sha256/);
  });

  it("a manifest cannot point outside its folder", () => {
    expect(artefactPath("/s/x", "redis/dump.rdb")).toBe("/s/x/redis/dump.rdb");
    for (const bad of ["../x", "/etc/passwd", "redis/../../x", "manifest.json", ""])
      expect(() => artefactPath("/s/x", bad)).toThrow(OperationError);
  });

  it("the config digest hides secrets and ignores key order", () => {
    const a = configDigest({ redis: { password: "pw1", port: 1 }, b: [1] }, ["pw1"]);
    expect(configDigest({ b: [1], redis: { port: 1, password: "pw2" } }, ["pw2"])).toBe(a);
    expect(configDigest({ b: [1], redis: { port: 2, password: "pw1" } }, ["pw1"])).not.toBe(a);
  });
});

describe("a snapshot on disk", () => {
  it("is written whole: 0600 files in a 0700 folder, a manifest with each file's size and sha256, read back by stream", async () => {
    const dir = await tempDir();
    const folder = await committed(dir);
    const read = await readManifest(folder);
    if (!("manifest" in read)) throw new Error(read.problem);
    expect(read.manifest.services[0]?.artefacts).toEqual([
      { file: "redis/dump.rdb", size: 9, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) as unknown },
    ]);
    expect((await stat(join(folder, "redis/dump.rdb"))).mode & 0o777).toBe(0o600);
    expect((await stat(join(folder, "manifest.json"))).mode & 0o777).toBe(0o600);
    expect((await stat(folder)).mode & 0o777).toBe(0o700);
    expect(await checkArtefacts(folder, read.manifest)).toEqual([]);
    const reader = snapshotReader(folder, read.manifest.services[0]?.artefacts ?? [], "redis");
    expect(reader.names).toEqual(["dump.rdb"]);
    expect(await reader.text("dump.rdb")).toBe("REDIS0011");
    expect(reader.size("dump.rdb")).toBe(9);
  });

  it("records the real sha256 and catches a changed byte", async () => {
    const dir = await tempDir();
    const folder = await committed(dir);
    const read = await readManifest(folder);
    if (!("manifest" in read)) throw new Error(read.problem);
    const { createHash } = await import("node:crypto");
    expect(read.manifest.services[0]?.artefacts[0]?.sha256).toBe(createHash("sha256").update("REDIS0011").digest("hex"));
    await writeFile(join(folder, "redis/dump.rdb"), "REDIS0012");
    expect(await checkArtefacts(folder, read.manifest)).toEqual([
      { file: "redis/dump.rdb", problem: expect.stringMatching(/sha256/) as unknown },
    ]);
    // ls's quick check looks at presence and sizes only; verify reads every byte.
    expect((await listSnapshots(dir))[0]?.problems).toEqual([]);
    await rm(join(folder, "redis/dump.rdb"));
    expect((await listSnapshots(dir))[0]?.problems).toEqual(["redis/dump.rdb: missing"]);
  });

  it("a failed create leaves nothing that looks like a snapshot; an existing name is a conflict", async () => {
    const dir = await tempDir();
    const draft = await SnapshotDraft.begin(dir, "half");
    const failing = new Readable({
      read() {
        this.destroy(new Error("the dump broke"));
      },
    });
    await expect(draft.writer("postgres").write("dify.dump", failing)).rejects.toThrow("the dump broke");
    // Before the commit the snapshot is a hidden folder, which ls does not list.
    expect(await listSnapshots(dir)).toEqual([]);
    await draft.abort();
    expect(await readdir(dir)).toEqual([]);
    await committed(dir);
    await expect(SnapshotDraft.begin(dir, "s1")).rejects.toThrow(ConflictError);
  });

  it("ls lists a folder with an unreadable or newer manifest as damaged, with the reason", async () => {
    const dir = await tempDir();
    await committed(dir);
    const { mkdir } = await import("node:fs/promises");
    await mkdir(join(dir, "newer"));
    await writeFile(join(dir, "newer", "manifest.json"), JSON.stringify({ format: 99 }));
    await mkdir(join(dir, "empty"));
    const listed = await listSnapshots(dir);
    expect(listed.map((e) => [e.name, e.problems.length === 0])).toEqual([
      ["empty", false],
      ["newer", false],
      ["s1", true],
    ]);
    expect(listed[0]?.problems[0]).toMatch(/no manifest.json/);
    expect(listed[1]?.problems[0]).toMatch(/newer dify-local/);
    expect(JSON.parse(await readFile(join(dir, "s1", "manifest.json"), "utf8"))).toMatchObject({ format: SNAPSHOT_FORMAT, name: "s1" });
  });
});
