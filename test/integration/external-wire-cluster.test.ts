/**
 * External S3 and registry with a cluster. First an external registry beside a kind cluster (the fake `kind` and the Kubernetes API double, as in
 * cluster.test.ts, with its own cluster name and ports): the registry fixture, started by this test
 * outside dify-local, is `registry.external`. `up` joins no registry container to the kind network,
 * writes no hosts.toml pointing nodes at a local registry and no `local-registry-hosting` ConfigMap,
 * and `verify` runs no node check of a local registry; the host services (a local Redis) are still
 * wired and checked from the node. Then an existing cluster (`cluster.context`, the API double
 * through a kubeconfig, its probe Job connecting from the test process) with only an external S3
 * and registry: no publicHost is needed, and the probe reaches both at their own addresses.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { down, up, verify, type ConfigInput } from "../../src/index.js";
import { execIn, startFakeCluster, type FakeCluster } from "../support/fake-cluster.js";
import { removeContainer, startRegistry, startS3 } from "../support/external-servers.js";
import { cleanup, exists, testConfig } from "../support/stack.js";

const BASE = 29200;
const CLUSTER = "dlt-extwire";
const CONTROL_PLANE = `${CLUSTER}-control-plane`;
const REGISTRY_PORT = BASE + 11;
const REGISTRY_SERVER = "dlt-extwire-kc-srv-registry";
const S3_PORT = BASE + 10;
const S3_SERVER = "dlt-extwire-kc-srv-s3";

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

describe.skipIf(!inject("engine"))("external S3 and registry with a cluster", () => {
  beforeAll(
    () => Promise.all([startRegistry(REGISTRY_SERVER, REGISTRY_PORT), startS3(S3_SERVER, S3_PORT, "kc-user", "kc-secret-77")]),
    120_000,
  );
  afterAll(() => Promise.all([removeContainer(REGISTRY_SERVER), removeContainer(S3_SERVER)]));

  describe("an external registry beside a kind cluster (fake kind, API double, real engine)", () => {
    beforeAll(async () => {
      await cleanup(base);
      fake = await startFakeCluster(CLUSTER);
    }, 120_000);

    afterAll(async () => {
      // down deletes the cluster (through the fake kind) and a kind network dify-local made.
      await down({ config, purge: true }).catch(() => undefined);
      await fake?.removeNodes();
      await fake?.stop();
      await cleanup(base);
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

  describe("an existing cluster with only an external S3 and registry (API double, probe Job)", () => {
    const NAMESPACE = "dlt-extwire-existing";
    let existing: FakeCluster;
    let env: NodeJS.ProcessEnv;
    let dir = "";
    const cfg: ConfigInput = {
      postgres: { enabled: false },
      redis: { enabled: false },
      qdrant: { enabled: false },
      minio: {
        container: "dlt-extwire-ex-minio",
        external: { endpoint: `http://127.0.0.1:${S3_PORT}`, bucket: "extwire-existing", accessKey: "kc-user", secretKey: "kc-secret-77" },
      },
      registry: { container: "dlt-extwire-ex-registry", external: { prefix: `127.0.0.1:${REGISTRY_PORT}/dify-plugins`, insecure: true } },
      cluster: {
        enabled: true,
        context: "team-staging",
        namespace: NAMESPACE,
        probeImage: "dify-local-fixture/probe:none",
        probeTimeout: 30,
      },
    };

    beforeAll(async () => {
      existing = await startFakeCluster("dlt-extwire-unused");
      dir = await mkdtemp(join(tmpdir(), "dlt-extwire-kubeconfig-"));
      const kubeconfig = join(dir, "kubeconfig.yaml");
      await writeFile(
        kubeconfig,
        [
          "apiVersion: v1",
          "kind: Config",
          "current-context: team-staging",
          `clusters: [{ name: remote, cluster: { server: "${process.env.FAKE_KIND_API_SERVER ?? ""}", insecure-skip-tls-verify: true } }]`,
          "users: [{ name: remote-user, user: { token: not-a-secret } }]",
          "contexts: [{ name: team-staging, context: { cluster: remote, user: remote-user } }]",
        ].join("\n"),
      );
      env = { ...process.env, KUBECONFIG: kubeconfig };
    });
    afterAll(async () => {
      await existing?.stop();
      await rm(dir, { recursive: true, force: true });
    });

    it("up needs no publicHost, and the probe Job reaches the S3 endpoint and the registry at their own addresses", async () => {
      const result = await up({ config: cfg, env });
      expect(result.checks.filter((c) => !c.ok)).toEqual([]);
      expect(result.plan.items).toEqual([]);
      const reached = result.checks.filter((c) => c.id.startsWith("cluster.reach.")).map((c) => [c.id, c.what]);
      expect(reached).toEqual([
        ["cluster.reach.registry", `pods in namespace ${NAMESPACE} reach registry (Registry (external)) at 127.0.0.1:${REGISTRY_PORT}`],
        ["cluster.reach.minio", `pods in namespace ${NAMESPACE} reach minio (S3 API (external)) at 127.0.0.1:${S3_PORT}`],
      ]);
      expect(existing.api.jobs.jobs.size).toBe(0);
    });
  });
});
