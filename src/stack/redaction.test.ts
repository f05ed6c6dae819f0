import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OperationError } from "../errors.js";
import { MASK, Redactor } from "../util/index.js";
import type { StackOptions } from "./context.js";
import { redacting } from "./redaction.js";

let dir: string;

describe("redacting: a command's one redaction point", () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "dlt-redacting-"));
    await writeFile(
      join(dir, "secrets.json"),
      JSON.stringify({
        appSecretKey: "chart-app-key",
        enterpriseAppSecretKey: "e",
        adminAPIsSecretKeySalt: "s",
        passwordEncryptionKey: "p",
      }),
    );
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("masks an error with what the command learnt, hint and stack included", async () => {
    const command = redacting(async (options: StackOptions = {}): Promise<string> => {
      options.redactor?.add("learnt-live-password");
      throw new OperationError("container log: --requirepass learnt-live-password", { hint: "docker logs; learnt-live-password" });
    });
    const err = (await command({ env: { DIFY_LOCAL_CONFIG_DIR: dir } }).catch((e: unknown) => e)) as OperationError;
    expect(err).toBeInstanceOf(OperationError);
    expect(err.message).toBe(`container log: --requirepass ${MASK}`);
    expect(err.hint).toBe(`docker logs; ${MASK}`);
    expect(err.stack).not.toContain("learnt-live-password");
  });

  it("knows the chart secrets of secrets.json from the start, and shares the caller's redactor", async () => {
    const mine = new Redactor();
    const command = redacting(async (options: StackOptions = {}) => options.redactor);
    expect(await command({ env: { DIFY_LOCAL_CONFIG_DIR: dir }, redactor: mine })).toBe(mine);
    expect(mine.redact("global.appSecretKey: chart-app-key")).toBe(`global.appSecretKey: ${MASK}`);
    // The result itself is the caller's: not changed.
    const plain = redacting(async (_options: StackOptions = {}) => "chart-app-key");
    expect(await plain({ env: { DIFY_LOCAL_CONFIG_DIR: dir } })).toBe("chart-app-key");
  });

  it("works without a secrets file (nothing generated) and with a damaged one", async () => {
    const empty = join(dir, "none");
    const command = redacting(async (options: StackOptions = {}) => options.redactor?.size);
    expect(await command({ env: { DIFY_LOCAL_CONFIG_DIR: empty } })).toBe(0);
    const damaged = await mkdtemp(join(dir, "damaged-"));
    await writeFile(join(damaged, "secrets.json"), "{ not json");
    expect(await command({ env: { DIFY_LOCAL_CONFIG_DIR: damaged } })).toBe(0);
  });
});
