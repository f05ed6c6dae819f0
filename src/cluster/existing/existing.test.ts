import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserError } from "../../errors.js";
import { reachIds } from "./existing.js";
import { kubeconfigFiles, loadKubeconfig, selectContext } from "./kubeconfig.js";
import { endpointAddress, parseProbeLog, PROBE_LABELS, PROBE_SCRIPT, probeJob, type ProbeTarget } from "./probe.js";

describe("endpointAddress", () => {
  it.each([
    ["postgresql://postgres@10.0.0.5:55432", { host: "10.0.0.5", port: 55432 }],
    ["http://10.0.0.5:9000", { host: "10.0.0.5", port: 9000 }],
    ["redis://cache.internal:6379", { host: "cache.internal", port: 6379 }],
    ["laptop:6334", { host: "laptop", port: 6334 }],
    ["https://s3.amazonaws.com", { host: "s3.amazonaws.com", port: 443 }],
    ["http://minio.internal", { host: "minio.internal", port: 80 }],
    ["http://[fd00::5]:6333", { host: "fd00::5", port: 6333 }],
  ])("%s -> %j", (endpoint, address) => {
    expect(endpointAddress(endpoint)).toEqual(address);
  });

  it("gives nothing for an address without a port it can know", () => {
    expect(endpointAddress("redis://cache.internal")).toBeUndefined();
    expect(endpointAddress("")).toBeUndefined();
  });
});

const targets: ProbeTarget[] = [
  { service: "postgres", label: "PostgreSQL", host: "10.0.0.5", port: 55432 },
  { service: "minio", label: "S3 API", host: "10.0.0.5", port: 9000 },
  { service: "minio", label: "Console", host: "10.0.0.5", port: 9001 },
  { service: "qdrant", label: "HTTP", host: "10.0.0.5", port: 9000 },
];

describe("probeJob", () => {
  const job = probeJob("dify-local-probe-1", "dify", "busybox:1.36.1", targets, 90);

  it("runs the probe script once per address, as host/port pairs", () => {
    const container = job.spec?.template.spec?.containers[0];
    expect(container?.image).toBe("busybox:1.36.1");
    expect(container?.command).toEqual(["sh", "-c", PROBE_SCRIPT, "probe", "10.0.0.5", "55432", "10.0.0.5", "9000", "10.0.0.5", "9001"]);
  });

  it("is one unprivileged pod, never retried, bounded by the deadline, labelled as dify-local's probe", () => {
    expect(job.metadata).toMatchObject({ name: "dify-local-probe-1", namespace: "dify", labels: PROBE_LABELS });
    expect(job.spec).toMatchObject({ backoffLimit: 0, activeDeadlineSeconds: 90 });
    expect(job.spec?.template.spec).toMatchObject({ restartPolicy: "Never", securityContext: { runAsNonRoot: true } });
    expect(job.spec?.template.metadata?.labels).toEqual(PROBE_LABELS);
  });
});

describe("parseProbeLog", () => {
  it("gives each target its line's answer, and undefined where the log has none", () => {
    const log = "ok 10.0.0.5 55432\nfailed 10.0.0.5 9000\nnc: bad address\n";
    expect(parseProbeLog(log, targets)).toEqual([true, false, undefined, false]);
  });

  it("does not take a line for another port as an answer", () => {
    expect(parseProbeLog("ok 10.0.0.5 554320\nok 10.0.0.50 55432\n", targets.slice(0, 1))).toEqual([undefined]);
  });
});

describe("reachIds", () => {
  it("names a check by service, with the label where a service has several endpoints", () => {
    expect(reachIds(targets)).toEqual([
      "cluster.reach.postgres",
      "cluster.reach.minio.s3-api",
      "cluster.reach.minio.console",
      "cluster.reach.qdrant",
    ]);
  });
});

describe("kubeconfig", () => {
  let dir = "";
  const kubeconfig = (context: string, cluster: string, server: string): string =>
    [
      "apiVersion: v1",
      "kind: Config",
      `current-context: ${context}`,
      `clusters: [{ name: ${cluster}, cluster: { server: "${server}" } }]`,
      `users: [{ name: u-${cluster}, user: { token: t } }]`,
      `contexts: [{ name: ${context}, context: { cluster: ${cluster}, user: u-${cluster} } }]`,
    ].join("\n");

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "dl-kubeconfig-"));
    await writeFile(join(dir, "a.yaml"), kubeconfig("team-eks", "eks", "https://eks.example:443"));
    await writeFile(join(dir, "b.yaml"), `${kubeconfig("team-eks", "other", "https://other.example")}\n`);
    await writeFile(join(dir, "c.yaml"), kubeconfig("lab", "lab", "https://lab.example:6443"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("reads KUBECONFIG's files in order, the first to name a context winning, a missing file skipped (as kubectl does)", async () => {
    const env = { KUBECONFIG: [join(dir, "missing.yaml"), join(dir, "a.yaml"), join(dir, "b.yaml"), join(dir, "c.yaml")].join(delimiter) };
    const kc = await loadKubeconfig(env);
    expect(selectContext(kc, "team-eks", env)).toEqual({ context: "team-eks", server: "https://eks.example:443", cluster: "eks" });
    expect(selectContext(kc, "lab", env).server).toBe("https://lab.example:6443");
    expect(kc.getCurrentContext()).toBe("lab");
  });

  it("reads ~/.kube/config without KUBECONFIG", () => {
    expect(kubeconfigFiles({ HOME: "/home/me" })).toEqual([join("/home/me", ".kube", "config")]);
  });

  it("names a missing context with the contexts there are (exit 2, key cluster.context)", async () => {
    const env = { KUBECONFIG: [join(dir, "a.yaml"), join(dir, "c.yaml")].join(delimiter) };
    const kc = await loadKubeconfig(env);
    let err: unknown;
    try {
      selectContext(kc, "my-eks", env);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).key).toBe("cluster.context");
    expect((err as UserError).message).toContain('no context "my-eks"');
    expect((err as UserError).message).toContain("its contexts: team-eks, lab");
  });
});
