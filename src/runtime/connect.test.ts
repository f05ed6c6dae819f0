import { describe, expect, it } from "vitest";
import { resolveEngine } from "./connect.js";

describe("resolveEngine", () => {
  it("honours DOCKER_HOST", () => {
    expect(resolveEngine({ DOCKER_HOST: "tcp://10.0.0.1:2375" }, () => true)).toEqual({ address: "tcp://10.0.0.1:2375", via: "DOCKER_HOST" });
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
