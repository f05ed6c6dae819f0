import { afterEach, describe, expect, it, vi } from "vitest";
import { MASK } from "../util/index.js";
import { Cli } from "./cli.js";

function capture(stream: NodeJS.WriteStream): { text: () => string } {
  const chunks: string[] = [];
  vi.spyOn(stream, "write").mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString());
    return true;
  });
  return { text: () => chunks.join("") };
}

describe("the CLI's output: one redaction point", () => {
  afterEach(() => vi.restoreAllMocks());

  it("masks lines, results, events and JSON with every secret the command taught it", () => {
    const out = capture(process.stdout);
    const err = capture(process.stderr);
    const cli = new Cli();
    // What the library command does with the redactor it was given.
    cli.base({}).redactor?.add("live-pass-1");
    cli.out("password live-pass-1");
    cli.err("warning: live-pass-1");
    cli.result({ json: true }, { plan: [{ reason: "command is redis-server --requirepass live-pass-1" }] }, () => undefined);
    cli.sink({}).emit({ step: "redis ready", status: "fail", detail: "log: live-pass-1" });
    cli.sink({ json: true }).emit({ step: "redis ready", status: "fail", detail: "log: live-pass-1" });
    expect(out.text() + err.text()).not.toContain("live-pass-1");
    expect(out.text()).toContain(`password ${MASK}\n`);
    expect(out.text()).toContain(`--requirepass ${MASK}`);
    expect(err.text()).toContain(`fail redis ready: log: ${MASK}\n`);
  });

  it("prints revealed output as is: info --show-secrets and values on stdout", () => {
    const out = capture(process.stdout);
    const cli = new Cli();
    cli.redactor.add("live-pass-1");
    cli.result({ json: true }, { text: "password: live-pass-1\n" }, () => undefined, { reveal: true });
    cli.revealed("password: live-pass-1\n");
    expect(out.text()).toBe('{"type":"result","text":"password: live-pass-1\\n"}\npassword: live-pass-1\n');
  });
});
