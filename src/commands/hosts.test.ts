import { spawnSync } from "node:child_process";
import { chmod, lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DIFY_DOMAINS } from "../helm/domains.js";
import { ConflictError, type EnvironmentError, UserError } from "../errors.js";
import { HOSTS_BEGIN, HOSTS_END, hosts, hostsLine, withHostsBlock, withoutHostsBlock } from "./hosts.js";

const LINE = hostsLine();
const BLOCK = `${HOSTS_BEGIN}\n${LINE}\n${HOSTS_END}\n`;
// Tabs, trailing blanks, comments and an IPv6 line: all must survive byte for byte.
const ETC = "127.0.0.1\tlocalhost  \n::1     localhost ip6-localhost\n# a comment \n\n10.0.0.5 nas.home\n";

describe("hostsLine", () => {
  it("maps all six Dify domains to 127.0.0.1 on one line", () => {
    expect(LINE).toBe(
      "127.0.0.1 console.dify.local app.dify.local api.dify.local files.dify.local enterprise.dify.local trigger.dify.local",
    );
    expect(LINE.split(" ").slice(1).sort()).toEqual(Object.values(DIFY_DOMAINS).sort());
  });

  it("takes another address, and refuses what is not one", () => {
    expect(hostsLine("192.168.1.20").startsWith("192.168.1.20 console.dify.local ")).toBe(true);
    expect(hostsLine("::1").startsWith("::1 ")).toBe(true);
    expect(() => hostsLine("localhost")).toThrow(UserError);
  });
});

describe("withHostsBlock / withoutHostsBlock", () => {
  it("appends the marked block and keeps every other byte", () => {
    const out = withHostsBlock(ETC, LINE);
    expect(out).toBe(ETC + BLOCK);
  });

  it("starts the block on its own line when the file does not end with a line break, and handles an empty file", () => {
    expect(withHostsBlock("127.0.0.1 localhost", LINE)).toBe(`127.0.0.1 localhost\n${BLOCK}`);
    expect(withHostsBlock("", LINE)).toBe(BLOCK);
  });

  it("is idempotent", () => {
    const once = withHostsBlock(ETC, LINE);
    expect(withHostsBlock(once, LINE)).toBe(once);
    expect(withoutHostsBlock(withoutHostsBlock(once))).toBe(ETC);
    expect(withoutHostsBlock(ETC)).toBe(ETC);
  });

  it("replaces an existing block where it stands, leaving the lines around it as they were", () => {
    const before = "127.0.0.1\tlocalhost  \n";
    const after = "# after  \n10.0.0.5 nas.home";
    const old = `${before}${HOSTS_BEGIN}\n127.0.0.1 console.dify.local\n${HOSTS_END}\n${after}`;
    const line = hostsLine("10.1.2.3");
    expect(withHostsBlock(old, line)).toBe(`${before}${HOSTS_BEGIN}\n${line}\n${HOSTS_END}\n${after}`);
  });

  it("removes the block and nothing else, including several blocks and one at the end without a line break", () => {
    expect(withoutHostsBlock(`# top\n${BLOCK}# bottom\n`)).toBe("# top\n# bottom\n");
    expect(withoutHostsBlock(`a\n${BLOCK}b\n${BLOCK}c\n`)).toBe("a\nb\nc\n");
    expect(withoutHostsBlock(`a\n${HOSTS_BEGIN}\n${LINE}\n${HOSTS_END}`)).toBe("a\n");
    // A second block is folded into the first when applying.
    expect(withHostsBlock(`a\n${BLOCK}b\n${BLOCK}c\n`, LINE)).toBe(`a\n${BLOCK}b\nc\n`);
  });

  it("keeps Windows line endings", () => {
    const crlf = "127.0.0.1 localhost\r\n# x\r\n";
    const out = withHostsBlock(crlf, LINE);
    expect(out).toBe(`${crlf}${HOSTS_BEGIN}\r\n${LINE}\r\n${HOSTS_END}\r\n`);
    expect(withHostsBlock(out, LINE)).toBe(out);
    expect(withoutHostsBlock(out)).toBe(crlf);
  });

  it("refuses unbalanced markers instead of guessing where the block ends", () => {
    expect(() => withHostsBlock(`a\n${HOSTS_BEGIN}\n${LINE}\nb\n`, LINE)).toThrow(ConflictError);
    expect(() => withoutHostsBlock(`a\n${HOSTS_END}\n`)).toThrow(/without "# BEGIN dify-local"/);
    expect(() => withoutHostsBlock(`${HOSTS_BEGIN}\n${HOSTS_BEGIN}\n${HOSTS_END}\n`)).toThrow(/second/);
  });
});

describe("hosts on a file", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "dify-local-hosts-"));
    // Others may traverse it: the permission test below reads it as another user.
    await chmod(dir, 0o755);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("without --apply or --remove only returns the line and touches no file", async () => {
    expect(await hosts()).toEqual({ line: LINE, changed: false });
    expect(await hosts({ ip: "10.0.0.1" })).toEqual({ line: hostsLine("10.0.0.1"), changed: false });
  });

  it("refuses --apply with --remove before reading anything", async () => {
    const file = join(dir, "never");
    await expect(hosts({ apply: true, remove: true, file })).rejects.toThrow(UserError);
    await expect(stat(file)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("applies, reapplies without writing, and removes, keeping the mode and the other lines", async () => {
    const file = join(dir, "hosts");
    await writeFile(file, ETC);
    await chmod(file, 0o640);
    expect(await hosts({ apply: true, file })).toEqual({ line: LINE, file, changed: true });
    expect(await readFile(file, "utf8")).toBe(ETC + BLOCK);
    expect((await stat(file)).mode & 0o777).toBe(0o640);

    const mtime = (await stat(file)).mtimeMs;
    expect(await hosts({ apply: true, file })).toEqual({ line: LINE, file, changed: false });
    expect((await stat(file)).mtimeMs).toBe(mtime);

    // Another address replaces the line in place.
    await hosts({ apply: true, file, ip: "10.9.8.7" });
    expect(await readFile(file, "utf8")).toBe(`${ETC}${HOSTS_BEGIN}\n${hostsLine("10.9.8.7")}\n${HOSTS_END}\n`);

    expect(await hosts({ remove: true, file })).toEqual({ line: LINE, file, changed: true });
    expect(await readFile(file, "utf8")).toBe(ETC);
    expect(await hosts({ remove: true, file })).toMatchObject({ changed: false });
    expect((await stat(file)).mode & 0o777).toBe(0o640);
    // No temporary file is left beside it.
    expect((await readdir(dir)).filter((n) => n.includes("dify-local"))).toEqual([]);
  });

  it("writes through a symbolic link to its target (macOS: /etc -> /private/etc)", async () => {
    const real = join(dir, "real-hosts");
    const link = join(dir, "link-hosts");
    await writeFile(real, ETC);
    await symlink(real, link);
    await hosts({ apply: true, file: link });
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(await readlink(link)).toBe(real);
    expect(await readFile(real, "utf8")).toBe(ETC + BLOCK);
  });

  it("--remove does not create a missing file; --apply does", async () => {
    const file = join(dir, "missing");
    expect(await hosts({ remove: true, file })).toEqual({ line: LINE, file, changed: false });
    await expect(stat(file)).rejects.toMatchObject({ code: "ENOENT" });
    expect(await hosts({ apply: true, file })).toMatchObject({ changed: true });
    expect(await readFile(file, "utf8")).toBe(BLOCK);
  });

  it("a directory given as the file is a UserError", async () => {
    const sub = join(dir, "a-directory");
    await mkdir(sub);
    await expect(hosts({ apply: true, file: sub })).rejects.toThrow(UserError);
  });

  /*
   * A real EACCES from the kernel, nothing mocked. Root passes every permission check, so as root
   * (the test machines) `hosts` runs in a child process as `nobody` through tsx, against a
   * root-owned 0644 file in a root-owned 0755 directory; as any other user the file is made
   * read-only and `hosts` runs here.
   */
  async function applyAsUnprivileged(
    file: string,
  ): Promise<{ name: string; exitCode?: number; message: string; hint?: string; changed?: boolean }> {
    if (process.getuid?.() !== 0) {
      return hosts({ apply: true, file }).then(
        (r) => ({ name: "ok", message: "", changed: r.changed }),
        (e: EnvironmentError) => ({ name: e.name, exitCode: e.exitCode, message: e.message, ...(e.hint ? { hint: e.hint } : {}) }),
      );
    }
    const scratch = join(dir, "nobody-tmp");
    await mkdir(scratch, { recursive: true, mode: 0o777 });
    await chmod(scratch, 0o777);
    const script = join(dir, "as-nobody.mjs");
    await writeFile(
      script,
      `const { hosts } = await import(process.argv[2]);
try { const r = await hosts({ apply: true, file: process.argv[3] }); console.log(JSON.stringify({ name: "ok", message: "", changed: r.changed })); }
catch (e) { console.log(JSON.stringify({ name: e.name, exitCode: e.exitCode, message: e.message, hint: e.hint })); }
`,
    );
    const repo = fileURLToPath(new URL("../..", import.meta.url));
    const child = spawnSync(process.execPath, ["--import", "tsx", script, fileURLToPath(new URL("./hosts.ts", import.meta.url)), file], {
      cwd: repo,
      uid: 65534,
      gid: 65534,
      env: { PATH: process.env.PATH ?? "", TMPDIR: scratch, HOME: scratch },
      encoding: "utf8",
      timeout: 30_000,
    });
    if (child.status !== 0) throw new Error(`the child as nobody failed (${child.status}): ${child.stderr}`);
    return JSON.parse(child.stdout.trim().split("\n").at(-1) ?? "{}") as { name: string; message: string };
  }

  it("a file it may not write is an EnvironmentError with the sudo hint, and stays as it was", async () => {
    const file = join(dir, "protected-hosts");
    await writeFile(file, ETC);
    await chmod(file, process.getuid?.() === 0 ? 0o644 : 0o444);
    const result = await applyAsUnprivileged(file);
    expect(result).toMatchObject({ name: "EnvironmentError", exitCode: 3, hint: "rerun with sudo: `sudo npx dify-local hosts --apply`" });
    expect(result.message).toContain(file);
    expect(await readFile(file, "utf8")).toBe(ETC);
    expect((await readdir(dir)).filter((n) => n.startsWith(".protected-hosts"))).toEqual([]);
  });

  it.skipIf(process.getuid?.() !== 0)(
    "a writable file in a directory it may not write is written in place (as /etc/hosts for a user who may write only it)",
    async () => {
      const file = join(dir, "writable-hosts");
      await writeFile(file, ETC);
      await chmod(file, 0o666);
      const before = await stat(file);
      expect(await applyAsUnprivileged(file)).toMatchObject({ name: "ok", changed: true });
      expect(await readFile(file, "utf8")).toBe(ETC + BLOCK);
      const after = await stat(file);
      expect([after.ino, after.uid, after.mode]).toEqual([before.ino, before.uid, before.mode]);
    },
  );
});
