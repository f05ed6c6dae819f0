/**
 * The hint readiness waits take from a container's log (`Runtime.followLogs`): what the container
 * prints from now on calls back, nothing after the follow is stopped, and a container whose logs
 * cannot be followed just never calls. The container prints a line per line written to a FIFO, so
 * the test decides when it speaks (no sleeps).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Runtime } from "../../src/runtime/index.js";
import { pollUntil } from "../../src/util/index.js";
import { FIXTURE_IMAGES } from "../support/fixtures.js";
import { cleanup, docker } from "../support/stack.js";

const NAME = "dlt-readiness-talker";
const TALK = 'mkfifo /tmp/say && while :; do read -r line < /tmp/say; echo "$line"; done';

describe.skipIf(!inject("engine"))("following a container's log", () => {
  const runtime = new Runtime(docker);
  let id: string;
  const say = async (line: string): Promise<void> => {
    expect((await runtime.exec(id, ["sh", "-c", 'printf "%s\\n" "$1" > /tmp/say', "sh", line])).exitCode).toBe(0);
  };
  const poll = { timeoutMs: 20_000, initialMs: 20, maxMs: 200, onTimeout: () => new Error("timed out") };

  beforeAll(async () => {
    await cleanup({}, { containers: [NAME] });
    const c = await docker.createContainer({ name: NAME, Image: FIXTURE_IMAGES.redis, Entrypoint: ["sh", "-c", TALK], Cmd: [] });
    await c.start();
    id = c.id;
    // The FIFO exists once the loop is waiting on it.
    await pollUntil(async () => ((await runtime.exec(id, ["test", "-p", "/tmp/say"])).exitCode === 0 ? true : undefined), poll);
  });
  afterAll(async () => {
    await cleanup({}, { containers: [NAME] });
  });

  it("calls back for what the container prints once followed, and never after it is stopped", async () => {
    let calls = 0;
    const stop = runtime.followLogs(id, () => calls++);
    // The follow attaches asynchronously and reads only what comes after it: speak until heard.
    await pollUntil(async () => {
      await say("hello");
      return calls > 0 ? true : undefined;
    }, poll);
    stop();
    const heard = calls;
    await say("after the stop");
    await pollUntil(async () => ((await runtime.logTail(id, 5)).includes("after the stop") ? true : undefined), poll);
    expect(calls).toBe(heard);
  });

  it("a container that does not exist never calls back, and stopping it is harmless", async () => {
    let calls = 0;
    const stop = runtime.followLogs("dlt-readiness-no-such-container", () => calls++);
    await say("nobody listens");
    await pollUntil(async () => ((await runtime.logTail(id, 5)).includes("nobody listens") ? true : undefined), poll);
    stop();
    expect(calls).toBe(0);
  });
});
