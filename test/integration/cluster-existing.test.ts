/**
 * An existing cluster through a kubeconfig context (`cluster.context`, issue 12): the cluster is the
 * Kubernetes API double reached through a kubeconfig (a temporary file in KUBECONFIG) whose
 * contexts have other names; the fake `kind` is on PATH only to prove it is never called. The
 * only local service is the registry (a real container), given to the cluster at publicHost
 * 127.0.0.1; the double's probe Job connects to it from the test process (kube-api-jobs.ts), so a
 * closed port really fails. Own names and ports (26000-26099).
 */
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ExistingCluster, probeJob } from "../../src/cluster/index.js";
import type { ConfigInput } from "../../src/config/index.js";
import { doctor, down, InterruptedError, RecordingSink, status, up, values, verify, UserError } from "../../src/index.js";
import { pollUntil } from "../../src/util/index.js";
import { startFakeCluster, type FakeCluster } from "../support/fake-cluster.js";
import { asAdmin, makeCerts, removeContainer, startPostgres, startQdrant } from "../support/external-servers.js";
import { cleanup, docker, exists, testConfig } from "../support/stack.js";

const BASE = 26000;
const NAMESPACE = "dlt-existing";
const IMAGE = "dify-local-fixture/probe:none";
let fake: FakeCluster;
let env: NodeJS.ProcessEnv;
let server = "";

/** Only the registry, as a container, with the existing cluster at `context`. */
function existingConfig(
  id: string,
  base: number,
  context: string,
  more: { cluster?: object; publicHost?: string | undefined } = {},
): ConfigInput {
  const { publicHost = "127.0.0.1", cluster = {} } = more;
  return testConfig(id, base, {
    postgres: { enabled: false },
    redis: { enabled: false },
    minio: { enabled: false },
    qdrant: { enabled: false },
    ...(publicHost ? { publicHost } : {}),
    cluster: { enabled: true, context, namespace: NAMESPACE, probeImage: IMAGE, probeTimeout: 30, ...cluster },
  });
}

const config = existingConfig("existing", BASE, "team-staging");
const prodConfig = existingConfig("existing-prod", BASE + 10, "team-prod-eu", { cluster: { namespace: "dlt-existing-prod" } });

/** What the fake kind was asked (nothing, in this mode). */
async function kindCalls(): Promise<string> {
  return readFile(join(fake.stateDir, "calls.log"), "utf8").catch(() => "");
}

function errorOf(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => new Error("expected a rejection"),
    (err: unknown) => err,
  );
}

describe.skipIf(!inject("engine"))("an existing cluster through a kubeconfig context (API double, real registry)", () => {
  beforeAll(async () => {
    await cleanup(config);
    await cleanup(prodConfig);
    fake = await startFakeCluster("dlt-existing-unused");
    server = process.env.FAKE_KIND_API_SERVER ?? "";
    const kubeconfig = join(fake.stateDir, "kubeconfig.yaml");
    const context = (name: string) => `{ name: ${name}, context: { cluster: remote, user: remote-user } }`;
    await writeFile(
      kubeconfig,
      [
        "apiVersion: v1",
        "kind: Config",
        "current-context: team-staging",
        // The double speaks plain HTTP, which client-node allows only so (as kubectl's own kubeconfigs for http say).
        `clusters: [{ name: remote, cluster: { server: "${server}", insecure-skip-tls-verify: true } }]`,
        "users: [{ name: remote-user, user: { token: not-a-secret } }]",
        `contexts: [${context("team-staging")}, ${context("team-prod-eu")}]`,
      ].join("\n"),
    );
    env = { ...process.env, KUBECONFIG: kubeconfig };
  });
  afterAll(async () => {
    await cleanup(config);
    await cleanup(prodConfig);
    await fake.stop();
  });

  it("refuses container services without publicHost, with the reason, before anything is touched", async () => {
    const err = await errorOf(up({ config: existingConfig("existing", BASE, "team-staging", { publicHost: "" }), env }));
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).key).toBe("cluster.context");
    expect((err as UserError).message).toContain("pods in a remote cluster cannot reach this laptop's containers");
    expect(fake.api.requests).toEqual([]);
  });

  it("refuses a context the kubeconfig does not have, listing the ones it has", async () => {
    const err = await errorOf(up({ config: existingConfig("existing", BASE, "my-eks"), env }));
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).key).toBe("cluster.context");
    expect((err as UserError).message).toContain("its contexts: team-staging, team-prod-eu");
    expect(await exists("container", "dlt-existing-registry")).toBe(false);
  });

  it("refuses a production-like context without --yes (exit 2, nothing made), and goes on with it", async () => {
    const sink = new RecordingSink();
    const err = await errorOf(up({ config: prodConfig, env, sink }));
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).key).toBe("--yes");
    expect((err as UserError).message).toContain("team-prod-eu looks like a production cluster");
    // Which cluster it is was said first.
    expect(sink.events[0]).toMatchObject({ step: "cluster" });
    expect(sink.events.find((e) => e.step === "cluster" && e.status === "ok")?.detail).toContain(server);
    expect(await exists("container", "dlt-existing-prod-registry")).toBe(false);
    expect(fake.api.applied.objects.has("/api/v1/namespaces/dlt-existing-prod")).toBe(false);
    expect(await errorOf(verify({ config: prodConfig, env }))).toBeInstanceOf(UserError);
    expect(fake.api.jobs.created).toEqual([]);

    const result = await up({ config: prodConfig, env, yes: true });
    expect(result.ok).toBe(true);
    expect(fake.api.applied.objects.has("/api/v1/namespaces/dlt-existing-prod")).toBe(true);
    await down({ config: prodConfig, env });
  });

  it("up: no kind, the namespace created by server-side apply, the probe Job reaches the registry at publicHost and is deleted", async () => {
    const plan = await up({ config, env, dryRun: true });
    expect(plan.namespace).toEqual({ context: "team-staging", name: NAMESPACE, action: "create" });
    expect(plan.cluster).toBeUndefined();
    expect(fake.api.applied.objects.has(`/api/v1/namespaces/${NAMESPACE}`)).toBe(false);
    const created = fake.api.jobs.created.length;
    const sink = new RecordingSink();
    const result = await up({ config, env, sink });
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);
    expect(sink.events[0]).toMatchObject({ step: "cluster", status: "start" });
    expect(sink.events.find((e) => e.step === "cluster" && e.status === "ok")?.detail).toBe(
      `context team-staging at ${server} (namespace ${NAMESPACE}; kind is not used)`,
    );
    expect(result.changes).toContain(`namespace ${NAMESPACE}: created in context team-staging`);
    const ns = fake.api.applied.objects.get(`/api/v1/namespaces/${NAMESPACE}`);
    expect(ns?.metadata).toMatchObject({ name: NAMESPACE, managedFields: [{ manager: "dify-local", operation: "Apply" }] });
    const ids = result.checks.map((c) => c.id);
    expect(ids).toEqual(expect.arrayContaining(["cluster.api", "cluster.namespace", "cluster.reach.registry", "cluster.probe-deleted"]));
    expect(result.checks.find((c) => c.id === "cluster.reach.registry")?.what).toContain(`127.0.0.1:${BASE}`);
    // One probe Job ran, with the configured image, and it is gone with its pod (deleted with propagation).
    expect(fake.api.jobs.created.length).toBe(created + 1);
    expect(fake.api.jobs.jobs.size).toBe(0);
    expect(fake.api.jobs.pods.size).toBe(0);
    expect(fake.api.jobs.deleted.at(-1)?.propagationPolicy).toBe("Background");
    // Nothing of kind's, no node, CoreDNS or ingress.
    expect(await kindCalls()).toBe("");
    expect(fake.api.requests.some((r) => r.path.includes("coredns") || r.path.includes("ingress") || r.path === "/api/v1/nodes")).toBe(
      false,
    );

    const again = await up({ config, env });
    expect(again.changes).toEqual([]);
    expect(again.ok).toBe(true);
  });

  it("status shows the cluster row from the context; values carry publicHost and the namespace", async () => {
    const { services } = await status({ config, env });
    expect(services.find((s) => s.service === "cluster")).toMatchObject({
      container: "context team-staging",
      endpoint: server,
      health: "healthy",
    });
    expect(services.some((s) => s.service === "ingress")).toBe(false);
    const rendered = await values({ config, env, secretsDir: fake.stateDir });
    expect(rendered.cluster).toEqual({ context: "team-staging", namespace: NAMESPACE });
    expect(rendered.text).toContain(`imageRepoPrefix: 127.0.0.1:${BASE}`);
    expect(rendered.text).not.toContain("host.docker.internal");
    const diagnosis = await doctor({ config, env });
    expect(diagnosis.findings.find((f) => f.id === "prereq.kind")).toMatchObject({
      severity: "info",
      what: "kind is not used: the cluster is the existing context team-staging",
    });
    expect(diagnosis.findings.some((f) => f.id.startsWith("cluster."))).toBe(false);
  });

  it("verify: a closed port fails its check naming the endpoint, and the Job and its pod are deleted", async () => {
    await docker.getContainer("dlt-existing-registry").stop();
    try {
      const result = await verify({ config, env });
      const reach = result.checks.find((c) => c.id === "cluster.reach.registry");
      expect(reach).toMatchObject({ ok: false });
      expect(reach?.what).toBe(`pods in namespace ${NAMESPACE} reach registry (Registry) at 127.0.0.1:${BASE}`);
      expect(reach?.detail).toMatch(/^the TCP connection from probe Job dify-local-probe-[0-9a-f]+ failed$/);
      expect(result.ok).toBe(false);
      expect(fake.api.jobs.jobs.size).toBe(0);
      expect(fake.api.jobs.pods.size).toBe(0);
    } finally {
      await docker.getContainer("dlt-existing-registry").start();
    }
  });

  it("verify: a probe that cannot start times out (bounded), says why, and its Job is still deleted", async () => {
    fake.api.jobs.unpullable.add(IMAGE);
    try {
      const result = await verify({ config: existingConfig("existing", BASE, "team-staging", { cluster: { probeTimeout: 5 } }), env });
      const reach = result.checks.find((c) => c.id === "cluster.reach.registry");
      expect(reach?.ok).toBe(false);
      expect(reach?.detail).toContain("did not finish within 5s");
      expect(reach?.detail).toContain(`ImagePullBackOff (image ${IMAGE})`);
      expect(fake.api.jobs.jobs.size).toBe(0);
      expect(fake.api.jobs.pods.size).toBe(0);
    } finally {
      fake.api.jobs.unpullable.delete(IMAGE);
    }
  });

  it("verify interrupted while the probe waits: it stops, and the Job and its pod are deleted all the same", async () => {
    fake.api.jobs.unpullable.add(IMAGE);
    const controller = new AbortController();
    const created = fake.api.jobs.created.length;
    try {
      const run = errorOf(verify({ config, env, signal: controller.signal }));
      await pollUntil(async () => (fake.api.jobs.created.length > created ? true : undefined), {
        timeoutMs: 10_000,
        onTimeout: () => new Error("no probe Job was created"),
      });
      controller.abort(new InterruptedError("interrupted by SIGINT", { signal: "SIGINT" }));
      expect(await run).toBeInstanceOf(InterruptedError);
      expect(fake.api.jobs.jobs.size).toBe(0);
      expect(fake.api.jobs.pods.size).toBe(0);
    } finally {
      fake.api.jobs.unpullable.delete(IMAGE);
    }
  });

  it("down changes nothing in the cluster and leaves the namespace; kind was never called", async () => {
    const before = fake.api.requests.length;
    const result = await down({ config, env });
    expect(result.removed).toEqual(["dlt-existing-registry"]);
    expect(result.namespaceLeftAlone).toBe(`${NAMESPACE} in context team-staging`);
    expect(fake.api.requests.length).toBe(before);
    expect(fake.api.applied.objects.has(`/api/v1/namespaces/${NAMESPACE}`)).toBe(true);
    expect(await kindCalls()).toBe("");
  });

  it("down --purge deletes probe Jobs a verify left behind, never the namespace", async () => {
    const kube = await new ExistingCluster("team-staging", NAMESPACE, env).kube();
    await kube.createJob(NAMESPACE, probeJob("dify-local-probe-left", NAMESPACE, IMAGE, [], 30));
    const result = await down({ config, env, purge: true });
    expect(result.probeJobsRemoved).toEqual(["dify-local-probe-left"]);
    expect(fake.api.jobs.jobs.size).toBe(0);
    expect(fake.api.jobs.pods.size).toBe(0);
    expect(fake.api.applied.objects.has(`/api/v1/namespaces/${NAMESPACE}`)).toBe(true);
    expect(await kindCalls()).toBe("");
    await rm(join(fake.stateDir, "calls.log"), { force: true });
  });
  it("external services with no container: no publicHost needed, databases made there, the probe Job reaches their own addresses", async () => {
    const certs = await makeCerts();
    const PG = BASE + 50;
    const QD = BASE + 51;
    const pw = { admin: "ext-admin-pw", owner: "ext-owner-pw", limited: "ext-limited-pw" };
    const external = existingConfig("existing-ext", BASE + 40, "team-staging", {
      publicHost: undefined,
      cluster: { namespace: "dlt-existing-ext" },
    }) as Record<string, unknown>;
    const cfg: ConfigInput = {
      ...external,
      registry: { enabled: false },
      postgres: { external: { host: "127.0.0.1", port: PG, user: "owner", password: pw.owner, sslmode: "require" } },
      qdrant: { external: { url: `http://127.0.0.1:${QD}`, apiKey: "ext-qdrant-key" } },
    };
    try {
      await Promise.all([
        startPostgres("dlt-existing-ext-pg", PG, certs.dir, pw),
        startQdrant("dlt-existing-ext-qdrant", QD, "ext-qdrant-key"),
      ]);
      // Only external services: nothing of this machine's is given to the cluster, so no publicHost.
      const result = await up({ config: cfg, env });
      expect(result.checks.filter((c) => !c.ok)).toEqual([]);
      expect(result.plan.items).toEqual([]);
      const reached = result.checks.filter((c) => c.id.startsWith("cluster.reach.")).map((c) => [c.id, c.what]);
      expect(reached).toEqual([
        ["cluster.reach.postgres", `pods in namespace dlt-existing-ext reach postgres (PostgreSQL) at 127.0.0.1:${PG}`],
        ["cluster.reach.qdrant", `pods in namespace dlt-existing-ext reach qdrant (HTTP) at 127.0.0.1:${QD}`],
      ]);
      // The databases were made on the external server by its non-superuser owner (CREATEDB).
      const dbs = await asAdmin(PG, pw.admin, (c) => c.query<{ datname: string }>("SELECT datname FROM pg_database"));
      expect(dbs.rows.map((r) => r.datname)).toEqual(expect.arrayContaining(["dify", "plugin_daemon", "enterprise", "audit"]));
      const rendered = await values({ config: cfg, env, secretsDir: fake.stateDir });
      expect(rendered.text).toContain(`port: ${PG}`);
      expect(rendered.text).not.toContain("host.docker.internal");

      await docker.getContainer("dlt-existing-ext-qdrant").stop();
      const broken = await verify({ config: cfg, env });
      expect(broken.checks.find((c) => c.id === "cluster.reach.qdrant")?.ok).toBe(false);
      expect(broken.checks.find((c) => c.id === "cluster.reach.postgres")?.ok).toBe(true);
      expect(fake.api.jobs.jobs.size).toBe(0);
    } finally {
      await Promise.all(["dlt-existing-ext-pg", "dlt-existing-ext-qdrant"].map(removeContainer));
      await certs.remove();
    }
  }, 120_000);
});
