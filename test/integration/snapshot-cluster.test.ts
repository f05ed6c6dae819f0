/**
 * The snapshot's consistency warning: deployments running in the kind cluster (fake kind, the
 * Kubernetes API double's deployment list, real engine, Redis and registry).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { RecordingSink, snapshotCreate, up } from "../../src/index.js";
import { startFakeCluster, type FakeCluster } from "../support/fake-cluster.js";
import { cleanup, testConfig } from "../support/stack.js";

const BASE = 31200;
const CLUSTER = "dlt-snapc";
const config = testConfig("snapc", BASE, {
  postgres: { enabled: false },
  minio: { enabled: false },
  qdrant: { enabled: false },
  cluster: { enabled: true, name: CLUSTER, workers: 0, httpPort: BASE + 40, httpsPort: BASE + 41, readyTimeout: 20 },
});
let fake: FakeCluster;
let home: string;
let env: NodeJS.ProcessEnv;

describe.skipIf(!inject("engine"))("snapshot create warns while deployments run in the cluster", () => {
  beforeAll(async () => {
    await cleanup(config);
    fake = await startFakeCluster(CLUSTER);
    home = await mkdtemp(join(tmpdir(), "dlt-snapc-"));
    env = {
      ...process.env,
      DIFY_LOCAL_DATA_DIR: join(home, "data"),
      DIFY_LOCAL_CONFIG_DIR: join(home, "config"),
      DIFY_LOCAL_STATE_DIR: join(home, "state"),
    };
    const result = await up({ config, env });
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);
  });
  afterAll(async () => {
    await fake.removeNodes();
    await cleanup(config);
    await fake.stop();
    await rm(home, { recursive: true, force: true });
  });

  it("names the running deployments (not the cluster's own) in a warning; none once they are scaled to zero", async () => {
    const api = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "dify-api", namespace: "dify", resourceVersion: "1", generation: 1 },
    };
    fake.api.deployments.set("dify/dify-api", { ...api, spec: { replicas: 1 }, status: { readyReplicas: 1 } });
    const sink = new RecordingSink();
    const first = await snapshotCreate({ config, env, sink, name: "with-app" });
    expect(first.warnings).toEqual([expect.stringContaining("deployments run in the cluster (dify/dify-api)")]);
    expect(first.warnings[0]).not.toContain("coredns");
    expect(sink.events.find((e) => e.status === "warn")?.detail).toContain("kubectl scale deployment --replicas=0");
    fake.api.deployments.set("dify/dify-api", { ...api, spec: { replicas: 0 }, status: {} });
    expect((await snapshotCreate({ config, env, name: "without-app" })).warnings).toEqual([]);
  });

  it("--stop-app scales them to zero while saving and back afterwards", async () => {
    const api = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "dify-api", namespace: "dify", resourceVersion: "1", generation: 1 },
    };
    fake.api.deployments.set("dify/dify-api", { ...api, spec: { replicas: 2 }, status: { replicas: 2, readyReplicas: 2 } });
    const sink = new RecordingSink();
    const result = await snapshotCreate({ config, env, sink, name: "stopped-app", stopApp: true });
    expect(result.warnings).toEqual([]);
    const steps = sink.events.filter((e) => e.status === "ok").map((e) => `${e.step}: ${e.detail ?? ""}`);
    expect(steps.filter((s) => s.startsWith("stop ") || s.startsWith("start ") || s.startsWith("snapshot redis"))).toEqual([
      "stop dify/dify-api: 0 replicas",
      expect.stringMatching(/^snapshot redis: /),
      "start dify/dify-api: 2 replicas",
    ]);
    expect((fake.api.deployments.get("dify/dify-api")?.spec as { replicas?: number }).replicas).toBe(2);
  });
});
