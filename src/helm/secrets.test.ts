import { chmod, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { UserError } from "../errors.js";
import { loadOrCreateSecrets, userConfigDir, writePrivateFile } from "./secrets.js";

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "dlt-secrets-"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const mode = async (p: string) => (await stat(p)).mode & 0o777;

describe("loadOrCreateSecrets", () => {
  it("creates secrets.json 0600 in a new 0700 directory, with keys of the chart's sizes", async () => {
    const dir = join(root, "config", "dify-local");
    const first = await loadOrCreateSecrets(dir);
    expect(first.created).toBe(true);
    expect(first.file).toBe(join(dir, "secrets.json"));
    expect(await mode(first.file)).toBe(0o600);
    expect(await mode(dir)).toBe(0o700);
    expect(Buffer.from(first.secrets.appSecretKey, "base64")).toHaveLength(42);
    expect(Buffer.from(first.secrets.enterpriseAppSecretKey, "base64")).toHaveLength(42);
    expect(Buffer.from(first.secrets.adminAPIsSecretKeySalt, "base64")).toHaveLength(42);
    expect(Buffer.from(first.secrets.passwordEncryptionKey, "base64")).toHaveLength(32);
    for (const key of [
      "innerApiKey",
      "apiInnerApiKey",
      "sandboxApiKey",
      "pluginDaemonApiKey",
      "pluginConnectorApiKey",
      "enterpriseInnerApiKey",
    ] as const) {
      expect(Buffer.from(first.secrets[key], "base64")).toHaveLength(42);
    }
    // Every key its own random value.
    expect(new Set(Object.values(first.secrets)).size).toBe(10);
  });

  it("returns the same values on every later call, through $DIFY_LOCAL_CONFIG_DIR", async () => {
    const saved = process.env.DIFY_LOCAL_CONFIG_DIR;
    process.env.DIFY_LOCAL_CONFIG_DIR = root;
    try {
      const first = await loadOrCreateSecrets();
      const second = await loadOrCreateSecrets();
      expect(second.created).toBe(false);
      expect(second.secrets).toEqual(first.secrets);
      expect(second.file).toBe(join(root, "secrets.json"));
    } finally {
      if (saved === undefined) delete process.env.DIFY_LOCAL_CONFIG_DIR;
      else process.env.DIFY_LOCAL_CONFIG_DIR = saved;
    }
  });

  it("adds a key missing from an older file and keeps the others", async () => {
    await writeFile(join(root, "secrets.json"), JSON.stringify({ appSecretKey: "kept" }), { mode: 0o644 });
    const loaded = await loadOrCreateSecrets(root);
    expect(loaded.created).toBe(true);
    expect(loaded.secrets.appSecretKey).toBe("kept");
    expect(await mode(loaded.file)).toBe(0o600);
    expect(JSON.parse(await readFile(loaded.file, "utf8"))).toMatchObject(loaded.secrets);
  });

  it("narrows a complete file readable by others to 0600", async () => {
    const { file } = await loadOrCreateSecrets(root);
    await chmod(file, 0o644);
    await loadOrCreateSecrets(root);
    expect(await mode(file)).toBe(0o600);
  });

  it("refuses a malformed file, naming it and the fix, and leaves it alone", async () => {
    const file = join(root, "secrets.json");
    await writeFile(file, "[ not json");
    const err = await loadOrCreateSecrets(root).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toBe(`the chart secrets file ${file} is not valid JSON (${jsonError("[ not json")})`);
    expect((err as UserError).hint).toContain("appSecretKey, enterpriseAppSecretKey, adminAPIsSecretKeySalt, passwordEncryptionKey");
    expect(await readFile(file, "utf8")).toBe("[ not json");
  });

  it.each([
    ["empty", "", "is empty (0 bytes): it was created but its keys were never written"],
    ["only a newline", "\n", "is empty (1 bytes)"],
    ["cut off", '{\n  "appSecretKey": "abc",\n  "enterpriseAppSec', "is cut off after 46 bytes: its JSON ends early"],
  ])("reports a file that is %s with its path and how to start over, and leaves it alone", async (_what, text, message) => {
    const file = join(root, "secrets.json");
    await writeFile(file, text);
    const err = (await loadOrCreateSecrets(root).catch((e: unknown) => e)) as UserError;
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toContain(`the chart secrets file ${file} ${message}`);
    expect(err.message).not.toMatch(/damaged/i);
    expect(err.hint).toContain(`delete it and run again (rm ${file})`);
    expect(err.hint).toContain("otherwise restore it from a backup");
    expect(await readFile(file, "utf8")).toBe(text);
  });

  it("two first runs at once agree on one set of keys, written whole", async () => {
    const dir = join(root, "fresh");
    const runs = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateSecrets(dir)));
    expect(runs.filter((r) => r.created)).toHaveLength(1);
    for (const r of runs) expect(r.secrets).toEqual(runs[0]?.secrets);
    expect(JSON.parse(await readFile(join(dir, "secrets.json"), "utf8"))).toMatchObject(runs[0]?.secrets ?? {});
    expect(await readdir(dir)).toEqual(["secrets.json"]);
  });

  it("never writes through a link planted where secrets.json goes", async () => {
    const elsewhere = join(root, "elsewhere.json");
    await symlink(elsewhere, join(root, "secrets.json"));
    const err = (await loadOrCreateSecrets(root).catch((e: unknown) => e)) as UserError;
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toContain("is a link to nothing");
    expect(await readdir(root)).toEqual(["secrets.json"]);
  });
});

function jsonError(text: string): string {
  try {
    JSON.parse(text);
  } catch (err) {
    return (err as Error).message;
  }
  return "";
}

describe("userConfigDir", () => {
  it("prefers DIFY_LOCAL_CONFIG_DIR, then XDG_CONFIG_HOME, then ~/.config", () => {
    expect(userConfigDir({ DIFY_LOCAL_CONFIG_DIR: "/a", XDG_CONFIG_HOME: "/b" })).toBe("/a");
    expect(userConfigDir({ XDG_CONFIG_HOME: "/b" })).toBe("/b/dify-local");
    expect(userConfigDir({})).toMatch(/\.config\/dify-local$/);
  });
});

describe("writePrivateFile", () => {
  it("replaces a file with a 0600 one and leaves no temporary file", async () => {
    const file = join(root, "out.yaml");
    await writeFile(file, "old", { mode: 0o644 });
    await writePrivateFile(file, "new");
    expect(await readFile(file, "utf8")).toBe("new");
    expect(await mode(file)).toBe(0o600);
    expect(await readdir(root)).toEqual(["out.yaml"]);
  });

  it("(values -o) replaces a link at the target with a 0600 file, never writing through it", async () => {
    const victim = join(root, "victim.yaml");
    await writeFile(victim, "someone else's\n", { mode: 0o644 });
    const out = join(root, "infra-values.yaml");
    await symlink(victim, out);
    await writePrivateFile(out, "rendered\n", "-o");
    expect(await readFile(victim, "utf8")).toBe("someone else's\n");
    expect(await readFile(out, "utf8")).toBe("rendered\n");
    expect(await mode(out)).toBe(0o600);
    expect((await readdir(root)).sort()).toEqual(["infra-values.yaml", "victim.yaml"]);
  });

  it("with exclusive leaves an existing file alone and says EEXIST, even with a flag", async () => {
    const file = join(root, "values.yaml.bak");
    await writeFile(file, "first");
    const err = await writePrivateFile(file, "second", "--merge", { exclusive: true }).catch((e: unknown) => e);
    expect((err as NodeJS.ErrnoException).code).toBe("EEXIST");
    expect(await readFile(file, "utf8")).toBe("first");
  });

  it("names the flag when the path cannot be written", async () => {
    const err = await writePrivateFile(join(root, "missing", "out.yaml"), "x", "-o").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).key).toBe("-o");
  });
});
