/**
 * An external registry beside a kind cluster (the fake `kind` and the Kubernetes API double, as in
 * cluster.test.ts, with its own cluster name and ports): the registry fixture, started by this test
 * outside dify-local, is `registry.external`. `up` joins no registry container to the kind network,
 * writes no hosts.toml pointing nodes at a local registry and no `local-registry-hosting` ConfigMap,
 * and `verify` runs no node check of a local registry; the host services (a local Redis) are still
 * wired and checked from the node.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { down, up, verify, type ConfigInput } from "../../src/index.js";
import { execIn, startFakeCluster, type FakeCluster } from "../support/fake-cluster.js";
import { removeContainer, startRegistry } from "../support/external-servers.js";
import { cleanup, exists, testConfig } from "../support/stack.js";

const BASE = 29200;
const CLUSTER = "dlt-extwire";
const CONTROL_PLANE = `${CLUSTER}-control-plane`;
const REGISTRY_PORT = BASE + 11;
const REGISTRY_SERVER = "dlt-extwire-kc-srv-registry";

const base = testConfig("extwire-kc", BASE, {
  postgres: { enabled: false },
  minio: { enabled: false },
  qdrant: { enabled: false },
  cluster: { enabled: true, name: CLUSTER, workers: 0, httpPort: BASE + 80, httpsPort: BASE + 81, readyTimeout: 20 },
});
const { container, volume, image } = base.registry as { container: string; volume: string; image: string };
const config: ConfigInput = {
  ...base,
  registry: { container, volume, image, external: { prefix: `127.0.0.1:${REGISTRY_PORT}/dify-plugins`, insecure: true } },
};
let fake: FakeCluster;

describe.skipIf(!inject("engine"))("an external registry beside a kind cluster (fake kind, API double, real engine)", () => {
  beforeAll(async () => {
    await cleanup(base);
    await startRegistry(REGISTRY_SERVER, REGISTRY_PORT);
    fake = await startFakeCluster(CLUSTER);
  }, 120_000);

  afterAll(async () => {
    // down deletes the cluster (through the fake kind) and a kind network dify-local made.
    await down({ config, purge: true }).catch(() => undefined);
    await fake?.removeNodes();
    await fake?.stop();
    await cleanup(base);
    await removeContainer(REGISTRY_SERVER);
  });

  it("up and verify wire no local registry into the nodes, and still wire the host services", async () => {
    const result = await up({ config });
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);
    expect(await exists("container", container)).toBe(false);

    const ids = (await verify({ config })).checks.map((c) => c.id);
    expect(ids).toContain(`cluster.host-ports.${CONTROL_PLANE}`);
    expect(ids).toContain("registry.external.v2");
    expect(ids.filter((id) => /^cluster\.(registry|hosts-toml)/.test(id))).toEqual([]);

    const certs = await execIn(CONTROL_PLANE, ["ls", "-A", "/etc/containerd/certs.d"]);
    expect(certs.output).not.toMatch(/host\.docker\.internal|localhost:/);
    expect(fake.api.configMaps.has("kube-public/local-registry-hosting")).toBe(false);
  });
});
