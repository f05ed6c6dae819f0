/**
 * Issue 8 §7: switching to generated credentials never leaves a service unreachable. When
 * PostgreSQL's volume holds a password that is neither the configured one nor the one its container
 * was started with, `up` cannot change it in place: it refuses with the steps before changing
 * anything (every container untouched, the seed's password still working for the others).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ConflictError, up } from "../../src/index.js";
import { cleanup, namesOf, snapshot, testConfig } from "../support/stack.js";

const BASE = 23750;
const config = testConfig("genpw-refuse", BASE);
const { containers } = namesOf(config);
let dir: string;
let env: NodeJS.ProcessEnv;

async function alterPassword(from: string, to: string): Promise<void> {
  const client = new pg.Client({ host: "127.0.0.1", port: BASE + 1, user: "postgres", password: from, database: "postgres" });
  await client.connect();
  try {
    await client.query(`ALTER USER postgres WITH PASSWORD ${client.escapeLiteral(to)}`);
  } finally {
    await client.end();
  }
}

describe.skipIf(!inject("engine"))("up --generate-passwords refuses what it cannot change in place", () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "dlt-genpw-refuse-"));
    env = { ...process.env, DIFY_LOCAL_CONFIG_DIR: dir };
    await cleanup(config);
  });
  afterAll(async () => {
    await cleanup(config);
    await rm(dir, { recursive: true, force: true });
  });

  it("a PostgreSQL volume with an unknown password: ConflictError with the steps, nothing changed", async () => {
    expect((await up({ config, env })).ok).toBe(true);
    await alterPassword("devpassword", "set-by-hand-elsewhere");
    const before = await snapshot(containers);

    const err = await up({ config, env, generatePasswords: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as ConflictError).message).toContain("cannot change it in place");
    expect((err as ConflictError).hint).toContain("ALTER USER postgres WITH PASSWORD");
    expect((err as ConflictError).hint).toContain("Nothing was changed");
    expect(await snapshot(containers)).toEqual(before);

    // Once the password is what the container was started with, the same command switches it.
    await alterPassword("set-by-hand-elsewhere", "devpassword");
    const switched = await up({ config, env, generatePasswords: true });
    expect(switched.ok).toBe(true);
    expect(switched.changes.some((c) => c.includes("changed the password of postgres in place"))).toBe(true);
  });
});
