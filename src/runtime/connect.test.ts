import { Agent as HttpsAgent } from "node:https";
import { describe, expect, it } from "vitest";
import { modemOptions, resolveEngine } from "./connect.js";

describe("resolveEngine", () => {
  it("honours DOCKER_HOST", () => {
    expect(resolveEngine({ DOCKER_HOST: "tcp://10.0.0.1:2375" }, () => true)).toEqual({
      address: "tcp://10.0.0.1:2375",
      via: "DOCKER_HOST",
    });
  });
  it("finds Colima's socket when the system socket is absent", () => {
    const r = resolveEngine({}, (p) => p.endsWith(".colima/default/docker.sock"));
    expect(r.address).toMatch(/\.colima\/default\/docker\.sock$/);
    expect(r.via).toBe("discovered");
  });
  it("prefers the system socket", () => {
    expect(resolveEngine({}, () => true).address).toBe("unix:///var/run/docker.sock");
  });
});

describe("modemOptions", () => {
  it("reads a unix socket path", () => {
    expect(modemOptions("unix:///tmp/x.sock", {})).toMatchObject({ socketPath: "/tmp/x.sock" });
  });
  it("reads tcp with TLS from the given environment, not process.env", () => {
    expect(modemOptions("tcp://10.1.2.3:2376", {})).toMatchObject({ protocol: "https", host: "10.1.2.3", port: "2376" });
    expect(modemOptions("tcp://10.1.2.3:2376", {}).agent).toBeInstanceOf(HttpsAgent);
    expect(modemOptions("tcp://10.1.2.3:2375", {})).toMatchObject({ protocol: "http", port: "2375" });
    expect(modemOptions("10.1.2.3:2375", { DOCKER_TLS_VERIFY: "1" })).toMatchObject({ protocol: "https" });
  });
});
