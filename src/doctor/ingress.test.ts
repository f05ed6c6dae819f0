import { describe, expect, it } from "vitest";
import { parseConfig } from "../config/index.js";
import { podProblem } from "../cluster/index.js";
import { explainIngress, ingressRule, type IngressFacts } from "./ingress.js";
import type { DoctorFacts } from "./types.js";

function facts(ingress: IngressFacts | undefined, over: Partial<DoctorFacts> = {}): DoctorFacts {
  return {
    platform: "linux",
    config: parseConfig({}),
    engine: { reachable: true, address: "unix:///var/run/docker.sock", version: "27.0.0" },
    tools: { kind: { version: "0.27.0" }, helm: true, kubectl: true },
    containers: [],
    ports: [],
    volumes: [],
    services: [],
    ...(ingress ? { ingress } : {}),
    ...over,
  };
}

const installed: IngressFacts = { controller: "nginx", className: "nginx", classes: ["nginx"], ours: true };

describe("the doctor's ingress rule", () => {
  it("says nothing without a cluster, and nothing for a healthy install", () => {
    expect(ingressRule(facts(undefined))).toEqual([]);
    expect(ingressRule(facts(installed))).toEqual([]);
  });

  it("controller none: a warning while the cluster has no class of that name, ok once it has", () => {
    const none = { ...installed, controller: "none" as const, classes: [] };
    expect(ingressRule(facts(none))).toMatchObject([{ id: "ingress.class", severity: "warning" }]);
    expect(ingressRule(facts({ ...none, classes: ["nginx"] }))).toMatchObject([{ id: "ingress.class", severity: "ok" }]);
  });

  it("the class values.yaml names must be installed", () => {
    const values = { file: "values.yaml", data: { ingress: { className: "traefik" } }, expected: [] };
    expect(ingressRule(facts(installed, { values }))).toMatchObject([
      {
        id: "values.ingress.className",
        severity: "error",
        what: "values.yaml sets ingress.className: traefik, but the cluster has IngressClass nginx",
        fix: "set ingress.className: nginx in values.yaml (`dify-local values --merge` does), then helm upgrade",
      },
    ]);
    expect(ingressRule(facts(installed, { values: { ...values, data: { ingress: { className: "nginx" } } } }))).toEqual([]);
  });

  it("another web server on the ingress port is named, with macOS's usual suspects there", () => {
    const ports = [
      { service: "cluster", key: "cluster.httpPort", hostIp: "127.0.0.1", port: 80, status: "taken" as const, holder: "apache2 (pid 7)" },
    ];
    const [linux] = ingressRule(facts(installed, { ports }));
    expect(linux).toMatchObject({ id: "ingress.cluster.httpPort", severity: "error" });
    expect(linux?.what).toBe("port 127.0.0.1:80 (cluster.httpPort) is held by apache2 (pid 7), not by the ingress controller's node");
    expect(linux?.why).not.toContain("AirPlay");
    expect(ingressRule(facts(installed, { ports, platform: "darwin" }))[0]?.why).toContain("AirPlay");
  });

  it("failing ingress checks get their reason; passing ones and others stay as they are", () => {
    expect(explainIngress({ id: "cluster.ingress.ready", severity: "error", what: "x" }).why).toContain("not running");
    expect(explainIngress({ id: "cluster.ingress.ready", severity: "ok", what: "x" })).toEqual({
      id: "cluster.ingress.ready",
      severity: "ok",
      what: "x",
    });
    expect(explainIngress({ id: "cluster.nodes", severity: "error", what: "x" })).toEqual({
      id: "cluster.nodes",
      severity: "error",
      what: "x",
    });
  });
});

describe("podProblem", () => {
  it("names the waiting reason with the image, an unscheduled pod, or nothing for a ready one", () => {
    const image = "registry.k8s.io/ingress-nginx/controller:v1";
    const waiting = {
      metadata: { name: "c-1", namespace: "ingress-nginx" },
      status: {
        phase: "Pending",
        containerStatuses: [
          {
            name: "controller",
            image,
            imageID: "",
            ready: false,
            restartCount: 0,
            state: { waiting: { reason: "ErrImagePull", message: "not found" } },
          },
        ],
      },
    };
    expect(podProblem(waiting)).toBe(`pod ingress-nginx/c-1: ErrImagePull (image ${image}): not found`);
    const unscheduled = {
      metadata: { name: "c-2", namespace: "n" },
      status: {
        phase: "Pending",
        conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: "0/2 nodes match" }],
      },
    };
    expect(podProblem(unscheduled)).toBe("pod n/c-2: not scheduled (Unschedulable: 0/2 nodes match)");
    expect(
      podProblem({
        metadata: { name: "c-3", namespace: "n" },
        status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] },
      }),
    ).toBeUndefined();
  });
});
