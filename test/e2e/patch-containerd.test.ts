/**
 * A cluster made elsewhere on a node image from before kind v0.27 (issue 10 §3), through the built
 * CLI: `up` stops with exit 3, naming the nodes and `--patch-containerd`; `up --patch-containerd`
 * patches them; `verify` is green afterwards. The fake kind and the Kubernetes API double stand in
 * as in test/integration/cluster-containerd.test.ts, which covers the details.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { runCli } from "../support/cli.js";
import {
  createClusterElsewhere,
  registryAndClusterConfig,
  startFakeCluster,
  useNodeImageBeforeV027,
  type FakeCluster,
} from "../support/fake-cluster.js";
import { cleanup } from "../support/stack.js";

const BASE = 30600;
const CLUSTER = "dlt-ctrd-cli";
const NODES = [`${CLUSTER}-control-plane`, `${CLUSTER}-worker`];
const config = registryAndClusterConfig("ctrd-cli", BASE, CLUSTER);
let fake: FakeCluster;
let dir: string;

describe.skipIf(!inject("engine"))("dify-local up --patch-containerd (built CLI, fake kind, API double)", () => {
  beforeAll(async () => {
    await cleanup(config);
    dir = await mkdtemp(join(tmpdir(), "dlt-ctrd-cli-"));
    await writeFile(join(dir, "dify-local.yaml"), stringify(config));
    fake = await startFakeCluster(CLUSTER);
    await useNodeImageBeforeV027(fake);
    await createClusterElsewhere(fake, CLUSTER);
  });
  afterAll(async () => {
    await fake.removeNodes();
    await cleanup(config);
    await fake.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("up --help lists the flag", async () => {
    const help = await runCli(["up", "--help"], dir);
    expect(help.stdout).toMatch(/--patch-containerd\s+on a cluster whose nodes' containerd ignores\s+\/etc\/containerd\/certs\.d/);
  });

  it("up stops with exit 3 and the fix; up --patch-containerd patches the nodes; verify is green", async () => {
    const refused = await runCli(["up"], dir);
    expect(refused.code, refused.stderr).toBe(3);
    for (const node of NODES) expect(refused.stderr).toContain(`${node} (config_path is not set`);
    expect(refused.stderr).toContain("dify-local up --patch-containerd");

    const failing = await runCli(["verify", "--json"], dir);
    expect(failing.code).toBe(1);
    const checks = (JSON.parse(failing.stdout) as { checks: Array<{ id: string; ok: boolean; why?: string }> }).checks;
    expect(checks.find((c) => c.id === `cluster.containerd.${NODES[0]}`)).toMatchObject({
      ok: false,
      why: expect.stringContaining("silently ignores"),
    });

    const patched = await runCli(["up", "--patch-containerd"], dir);
    expect(patched.code, patched.stderr).toBe(0);
    for (const node of NODES)
      expect(patched.stdout).toContain(`${node}: containerd reads /etc/containerd/certs.d (config_path added, containerd restarted)`);
    expect((await runCli(["verify"], dir)).code).toBe(0);
  });
});
