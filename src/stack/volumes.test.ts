import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { dataLostMessage, stateDir, VolumeRecord } from "./volumes.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "dlt-state-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("the record of used data volumes", () => {
  it("lives in DIFY_LOCAL_STATE_DIR, else $XDG_STATE_HOME/dify-local, else ~/.local/state/dify-local", () => {
    expect(stateDir({ DIFY_LOCAL_STATE_DIR: "/x" })).toBe("/x");
    expect(stateDir({ XDG_STATE_HOME: "/s" })).toBe("/s/dify-local");
    expect(stateDir({ HOME: "/home/u" })).toBe("/home/u/.local/state/dify-local");
  });

  it("remembers a volume once (0600 file, first date kept), per engine, and forgets it on request", async () => {
    const env = { DIFY_LOCAL_STATE_DIR: dir };
    const record = VolumeRecord.of(env, "unix:///var/run/docker.sock");
    expect(await record.get("dev-redis-data")).toBeUndefined();
    await record.add("dev-redis-data", "redis");
    const first = await record.get("dev-redis-data");
    expect(first).toMatchObject({ volume: "dev-redis-data", component: "redis" });
    await record.add("dev-redis-data", "redis");
    expect(await record.get("dev-redis-data")).toEqual(first);
    // Another engine has its own record.
    expect(await VolumeRecord.of(env, "tcp://elsewhere:2375").get("dev-redis-data")).toBeUndefined();
    const [engineDir] = await readdir(join(dir, "volumes"));
    const file = join(dir, "volumes", engineDir ?? "", "dev-redis-data.json");
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    await record.remove("dev-redis-data");
    await record.remove("dev-redis-data");
    expect(await record.get("dev-redis-data")).toBeUndefined();
  });

  it("says the data is lost, loudly, naming the volume", () => {
    const entry = { volume: "dev-postgres-data", component: "postgres", since: "2024-05-01T10:00:00.000Z" };
    expect(dataLostMessage(entry, true)).toBe(
      "volume dev-postgres-data was missing and has been created empty: data from before is lost (in use since 2024-05-01T10:00:00.000Z)",
    );
    expect(dataLostMessage(entry, false)).toBe(
      "volume dev-postgres-data is missing: its data is lost (in use since 2024-05-01T10:00:00.000Z)",
    );
  });
});
