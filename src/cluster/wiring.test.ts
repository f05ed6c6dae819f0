import { describe, expect, it } from "vitest";
import type { Runtime } from "../runtime/index.js";
import { resolveHostAlias } from "./wiring.js";

/**
 * The engine facts resolveHostAlias reads, as plain answers: Docker Desktop cannot run here, so
 * this is the one place its branch is exercised (the Linux branch runs for real in the cluster
 * integration test).
 */
function engine(desktop: boolean, gateway: string | undefined): { runtime: Runtime; created: string[] } {
  const created: string[] = [];
  const fake = {
    isDockerDesktop: async () => desktop,
    ensureNetwork: async (name: string) => {
      created.push(name);
      return "created" as const;
    },
    networkGateway: async () => gateway,
  };
  return { runtime: fake as unknown as Runtime, created };
}

describe("resolveHostAlias", () => {
  it("changes nothing on Docker Desktop", async () => {
    const e = engine(true, undefined);
    expect(await resolveHostAlias(e.runtime, { create: true })).toEqual({ mode: "desktop" });
    expect(e.created).toEqual([]);
  });
  it("on Linux makes sure the kind network exists and maps the alias to its gateway", async () => {
    const e = engine(false, "172.18.0.1");
    expect(await resolveHostAlias(e.runtime, { create: true })).toEqual({ mode: "gateway", ip: "172.18.0.1" });
    expect(e.created).toEqual(["kind"]);
  });
  it("a dry run creates nothing and says when the network is not there yet", async () => {
    const e = engine(false, undefined);
    expect(await resolveHostAlias(e.runtime, { create: false })).toBeUndefined();
    expect(e.created).toEqual([]);
  });
});
