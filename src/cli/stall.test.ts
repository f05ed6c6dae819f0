import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// `beforeExit` comes only when a process's event loop is empty, which it never is inside vitest:
// each case runs in a child Node process (TypeScript through tsx).
const run = promisify(execFile);
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "dl-stall-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function child(body: string): Promise<{ code: number; stdout: string }> {
  const script = join(dir, `case-${Math.random().toString(36).slice(2)}.mts`);
  await writeFile(script, `import { orStalled } from ${JSON.stringify(resolve("src/cli/stall.ts"))};\n${body}\n`);
  try {
    const { stdout } = await run(process.execPath, ["--import", "tsx", script], { timeout: 30_000 });
    return { code: 0, stdout };
  } catch (err) {
    const failed = err as { code: number; stdout: string };
    return { code: failed.code, stdout: failed.stdout };
  }
}

describe("orStalled", () => {
  it("a promise nothing can settle any more ends as an error, not as Node's exit code 13", async () => {
    const r = await child(
      `try { await orStalled(new Promise(() => undefined)); } catch (e) { console.log((e as Error).name, (e as Error).message); }`,
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("OperationError the command stopped: it was waiting for an answer that can no longer come");
  });

  it("work that is still running (a timer) is waited for, and its result returned", async () => {
    const r = await child(`console.log(await orStalled(new Promise((done) => setTimeout(() => done("finished"), 300))));`);
    expect(r).toEqual({ code: 0, stdout: "finished\n" });
  });

  it("leaves no listener behind", async () => {
    const r = await child(`await orStalled(Promise.resolve(1)); console.log(process.listenerCount("beforeExit"));`);
    expect(r.stdout).toBe("0\n");
  });
});
