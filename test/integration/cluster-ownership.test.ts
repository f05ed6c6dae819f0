/**
 * `down` deletes a kind cluster only when dify-local created it (issue 8 §5). `up` records the
 * creation in the control-plane node (see CREATED_MARKER); a cluster made by someone else — here
 * with `kind create cluster` as the tutorial's init.sh does — is adopted by `up` and left running by
 * `down`, with a message, unless `down --delete-cluster`. The fake `kind` and the Kubernetes API
 * double stand in as in cluster.test.ts; own names and ports.
 */
import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { CREATED_MARKER } from "../../src/cluster/index.js";
import { down, RecordingSink, status, up, UserError } from "../../src/index.js";
import { FAKE_KIND, registryAndClusterConfig, startFakeCluster, type FakeCluster } from "../support/fake-cluster.js";
import { cleanup, docker, exists } from "../support/stack.js";

const BASE = 23250;
const CLUSTER = "dlt-owner";
const NODES = [`${CLUSTER}-control-plane`, `${CLUSTER}-worker`];
const config = registryAndClusterConfig("owner", BASE, CLUSTER);
let fake: FakeCluster;

/** `kind ARGS` as a user runs it (the fake kind on PATH). */
function kind(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(join(FAKE_KIND, "kind"), args, { env: process.env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => done({ code, stderr }));
  });
}

/** The marker file as Docker's archive API shows it (works on a stopped container too). */
async function marker(): Promise<string | undefined> {
  try {
    const stream = await docker.getContainer(NODES[0] ?? "").getArchive({ path: CREATED_MARKER });
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  } catch {
    return undefined;
  }
}

describe.skipIf(!inject("engine"))("down deletes only a cluster dify-local created (fake kind, API double, real engine)", () => {
  beforeAll(async () => {
    await cleanup(config);
    fake = await startFakeCluster(CLUSTER);
  });
  afterAll(async () => {
    await fake.removeNodes();
    await cleanup(config);
    await fake.stop();
  });

  it("a cluster made by someone else: up adopts it, down leaves it running and says so", async () => {
    const file = join(fake.stateDir, "init-sh-kind.yaml");
    await writeFile(file, "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n- role: control-plane\n- role: worker\n");
    expect(await kind(["create", "cluster", "--name", CLUSTER, "--config", file])).toMatchObject({ code: 0 });

    const sink = new RecordingSink();
    const result = await up({ config, sink });
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);
    expect(sink.events.find((e) => e.step === "cluster create" && e.status === "ok")?.detail).toBe(
      `kept ${CLUSTER} (exists; not created by dify-local, so down leaves it alone)`,
    );
    expect(await marker()).toBeUndefined();
    expect((await status({ config })).services.find((s) => s.service === "cluster")).toMatchObject({ owner: "adopted" });

    const downSink = new RecordingSink();
    const left = await down({ config, sink: downSink });
    expect(left).toMatchObject({ clusterDeleted: undefined, clusterLeftAlone: CLUSTER, removed: [config.registry?.container] });
    expect(downSink.events).toContainEqual({
      step: "cluster delete",
      status: "skip",
      detail: `left ${CLUSTER} running: dify-local did not create it (dify-local down --delete-cluster deletes it anyway)`,
    });
    for (const n of NODES) expect(await exists("container", n)).toBe(true);

    await expect(down({ config, keepCluster: true, deleteCluster: true })).rejects.toThrow(UserError);
    for (const n of NODES) expect(await exists("container", n)).toBe(true);

    const forced = await down({ config, deleteCluster: true });
    expect(forced).toMatchObject({ clusterDeleted: CLUSTER, clusterLeftAlone: undefined });
    for (const n of NODES) expect(await exists("container", n)).toBe(false);
  });

  it("a cluster up created: marked in its control plane, and deleted by down even while its nodes are stopped", async () => {
    const result = await up({ config });
    expect(result.changes).toContain(`cluster ${CLUSTER}: created`);
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);
    expect(await marker()).toContain('"createdBy":"dify-local"');
    expect((await status({ config })).services.find((s) => s.service === "cluster")).toMatchObject({ owner: "dify-local" });

    // The record lives with the cluster: readable with every node stopped.
    for (const n of NODES) await docker.getContainer(n).stop({ t: 1 });
    const deleted = await down({ config });
    expect(deleted).toMatchObject({ clusterDeleted: CLUSTER, clusterLeftAlone: undefined });
    for (const n of NODES) expect(await exists("container", n)).toBe(false);
  });
});
