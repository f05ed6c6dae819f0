/**
 * Node proxies (cluster.proxy): `up` hands the proxy to kind at creation, and kind passes it into
 * every node (the fake kind does what kind's docker provider does: HTTP_PROXY, HTTPS_PROXY and
 * NO_PROXY from its environment into the node containers). The proxy here is an address that
 * answers nothing, so every check that still passes proves NO_PROXY keeps the local registry and
 * the host services off the proxy: the nodes' curl to host.docker.internal honours those variables.
 * Same pattern as cluster.test.ts, with its own names and ports.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { doctor, down, up } from "../../src/index.js";
import { startFakeCluster, type FakeCluster } from "../support/fake-cluster.js";
import { cleanup, docker, testConfig } from "../support/stack.js";

const BASE = 22800;
const CLUSTER = "dlt-proxy";
const PROXY = "http://proxy.invalid:3128";
const config = testConfig("proxy", BASE, {
  cluster: {
    enabled: true,
    name: CLUSTER,
    workers: 1,
    httpPort: BASE + 80,
    httpsPort: BASE + 81,
    readyTimeout: 20,
    proxy: { http: PROXY, https: PROXY, noProxy: ["git.corp.example"] },
  },
});
let fake: FakeCluster;

describe.skipIf(!inject("engine"))("node proxies (fake kind passing them into real node containers)", () => {
  beforeAll(async () => {
    await cleanup(config);
    fake = await startFakeCluster(CLUSTER);
  });
  afterAll(async () => {
    await down({ config }).catch(() => undefined);
    await fake.removeNodes();
    await cleanup(config);
    await fake.stop();
  });

  it("every node gets the proxy, with the host alias, localhost, cluster names and the kind subnet in NO_PROXY; every check still passes", async () => {
    const result = await up({ config });
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);
    const subnet = ((await docker.getNetwork("kind").inspect()) as { IPAM: { Config: Array<{ Subnet?: string }> } }).IPAM.Config.map(
      (c) => c.Subnet,
    ).find((s) => s?.includes("."));
    for (const node of [`${CLUSTER}-control-plane`, `${CLUSTER}-worker`]) {
      const env = Object.fromEntries(
        ((await docker.getContainer(node).inspect()).Config.Env ?? []).map((kv) => [
          kv.slice(0, kv.indexOf("=")),
          kv.slice(kv.indexOf("=") + 1),
        ]),
      );
      expect(env).toMatchObject({ HTTP_PROXY: PROXY, https_proxy: PROXY });
      const noProxy = (env.NO_PROXY ?? "").split(",");
      expect(noProxy).toEqual(
        expect.arrayContaining(["git.corp.example", "host.docker.internal", "localhost", "127.0.0.1", ".svc", ".cluster.local", subnet]),
      );
    }
  });

  it("doctor shows the proxy the nodes really have", async () => {
    const f = (await doctor({ config })).findings.find((x) => x.id === "cluster.proxy");
    expect(f).toMatchObject({ severity: "info" });
    expect(f?.what).toContain(`the nodes pull through ${PROXY}`);
    expect(f?.what).toContain("host.docker.internal");
  });
});
