/**
 * An existing cluster through a kubeconfig context (issue 12), through the built CLI: a context
 * whose name suggests production is refused with exit 2 until `--yes`; which cluster it talks to
 * is the first progress line; a missing context lists the contexts; `verify` probes from inside
 * the cluster; `down` leaves the namespace. The Kubernetes API double is the cluster (reached
 * through a temporary KUBECONFIG); test/integration/cluster-existing.test.ts covers the details.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { ConfigInput } from "../../src/config/index.js";
import { runCli } from "../support/cli.js";
import { startFakeCluster, type FakeCluster } from "../support/fake-cluster.js";
import { cleanup, testConfig } from "../support/stack.js";

const BASE = 26100;
const config: ConfigInput = testConfig("existing-cli", BASE, {
  postgres: { enabled: false },
  redis: { enabled: false },
  minio: { enabled: false },
  qdrant: { enabled: false },
  publicHost: "127.0.0.1",
  cluster: { enabled: true, context: "team-prod", namespace: "dlt-existing-cli" },
});
let fake: FakeCluster;
let dir: string;
let env: NodeJS.ProcessEnv;
let server: string;

describe.skipIf(!inject("engine"))("dify-local with cluster.context (built CLI, API double)", () => {
  beforeAll(async () => {
    await cleanup(config);
    dir = await mkdtemp(join(tmpdir(), "dlt-existing-cli-"));
    await writeFile(join(dir, "dify-local.yaml"), stringify(config));
    fake = await startFakeCluster("dlt-existing-cli-unused");
    server = process.env.FAKE_KIND_API_SERVER ?? "";
    await writeFile(
      join(dir, "kubeconfig"),
      stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: "remote", cluster: { server, "insecure-skip-tls-verify": true } }],
        users: [{ name: "u", user: { token: "t" } }],
        contexts: [
          { name: "team-prod", context: { cluster: "remote", user: "u" } },
          { name: "team-dev", context: { cluster: "remote", user: "u" } },
        ],
      }),
    );
    env = { KUBECONFIG: join(dir, "kubeconfig") };
  });
  afterAll(async () => {
    await cleanup(config);
    await fake.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("up refuses a production-like context with exit 2 until --yes, saying first which cluster it is", async () => {
    const refused = await runCli(["up"], dir, env);
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr.split("\n")[0]).toBe(
      `ok   cluster: context team-prod at ${server} (namespace dlt-existing-cli; kind is not used)`,
    );
    expect(refused.stderr).toContain("error: cluster.context team-prod looks like a production cluster");
    expect(refused.stderr).toContain("hint: rerun with --yes");
    const json = await runCli(["up", "--json"], dir, env);
    expect(JSON.parse(json.stdout.trim().split("\n").at(-1) ?? "")).toMatchObject({ type: "error", exitCode: 2, key: "--yes" });

    const made = await runCli(["up", "--yes"], dir, env);
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toContain("namespace dlt-existing-cli: created in context team-prod");
    const verified = await runCli(["verify", "--yes", "--json"], dir, env);
    expect(verified.code, verified.stdout).toBe(0);
    const checks = (JSON.parse(verified.stdout) as { checks: Array<{ id: string; ok: boolean }> }).checks;
    expect(checks.find((c) => c.id === "cluster.reach.registry")).toMatchObject({ ok: true });
    const plain = await runCli(["verify", "--yes"], dir, env);
    expect(plain.stdout.split("\n")[0]).toBe(`cluster: context team-prod at ${server} (namespace dlt-existing-cli)`);
    expect(plain.stdout).toContain("✓ pods in namespace dlt-existing-cli reach registry (Registry) at 127.0.0.1:26100");
    expect(fake.api.jobs.jobs.size).toBe(0);

    const status = await runCli(["status"], dir, env);
    expect(status.stdout).toMatch(
      new RegExp(`cluster +context team-prod \\(adopted\\) +reachable +${server.replace(/[.]/g, "\\.")} +healthy`),
    );
    const down = await runCli(["down"], dir, env);
    expect(down.code, down.stderr).toBe(0);
    expect(down.stdout).toContain("left namespace dlt-existing-cli in context team-prod as it is (down never deletes it)");
    expect(await readFile(join(fake.stateDir, "calls.log"), "utf8").catch(() => "")).toBe("");
  });

  it("a missing context is exit 2 listing the contexts", async () => {
    await writeFile(join(dir, "other.yaml"), stringify({ ...config, cluster: { enabled: true, context: "my-eks" } }));
    const refused = await runCli(["--config", "other.yaml", "up"], dir, env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('the kubeconfig has no context "my-eks"');
    expect(refused.stderr).toContain("its contexts: team-prod, team-dev");
  });
});
