import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { KIND_DEFAULT_COREFILE } from "../../test/support/corefile.js";
import { parseConfig } from "../config/index.js";
import { corefileHost, corefileWithHost, etcHostsWithAlias, hostsToml, kindConfig, localRegistryHosting, registryHosts } from "./files.js";
import { parseKindVersion, versionAtLeast } from "./kind.js";
import { gatewayBindings } from "./wiring.js";

const COREFILE = KIND_DEFAULT_COREFILE;

describe("kindConfig", () => {
  it("generates the seed's cluster: control plane with ingress ports, one worker, certs.d config_path", () => {
    const doc = parse(kindConfig(parseConfig({}))) as {
      kind: string;
      apiVersion: string;
      name: string;
      nodes: Array<{
        role: string;
        labels?: Record<string, string>;
        extraPortMappings?: Array<{ containerPort: number; hostPort: number; protocol: string }>;
      }>;
      containerdConfigPatches: string[];
    };
    expect(doc.kind).toBe("Cluster");
    expect(doc.apiVersion).toBe("kind.x-k8s.io/v1alpha4");
    expect(doc.name).toBe("dify-ee-kind");
    expect(doc.nodes.map((n) => n.role)).toEqual(["control-plane", "worker"]);
    expect(doc.nodes[0]?.labels).toEqual({ "ingress-ready": "true" });
    expect(doc.nodes[0]?.extraPortMappings).toEqual([
      { containerPort: 80, hostPort: 80, listenAddress: "127.0.0.1", protocol: "TCP" },
      { containerPort: 443, hostPort: 443, listenAddress: "127.0.0.1", protocol: "TCP" },
    ]);
    expect(doc.containerdConfigPatches).toEqual([
      '[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"\n',
    ]);
  });
  it("maps the ingress ports on the configured bind address and ports", () => {
    const doc = parse(kindConfig(parseConfig({ bind: "0.0.0.0", cluster: { httpPort: 8080, httpsPort: 8443 } }))) as {
      nodes: Array<{ extraPortMappings?: unknown[] }>;
    };
    expect(doc.nodes[0]?.extraPortMappings).toEqual([
      { containerPort: 80, hostPort: 8080, listenAddress: "0.0.0.0", protocol: "TCP" },
      { containerPort: 443, hostPort: 8443, listenAddress: "0.0.0.0", protocol: "TCP" },
    ]);
  });
  it("follows workers and the node image", () => {
    const doc = parse(kindConfig(parseConfig({ cluster: { workers: 3, nodeImage: "kindest/node:v1.31.0" } }))) as {
      nodes: Array<{ role: string; image?: string }>;
    };
    expect(doc.nodes.map((n) => n.role)).toEqual(["control-plane", "worker", "worker", "worker"]);
    expect(doc.nodes.every((n) => n.image === "kindest/node:v1.31.0")).toBe(true);
  });
});

describe("registry wiring files", () => {
  it("hosts.toml is the seed's content, following the port", () => {
    expect(hostsToml(parseConfig({}))).toBe(
      'server = "http://host.docker.internal:5050"\n\n[host."http://host.docker.internal:5050"]\n  capabilities = ["pull", "resolve", "push"]\n  skip_verify = true\n',
    );
    expect(hostsToml(parseConfig({ registry: { port: 5999 } }))).toContain("host.docker.internal:5999");
    expect(registryHosts(parseConfig({}))).toEqual(["host.docker.internal:5050", "localhost:5050"]);
    // An external registry is pulled from at its own name: no hosts.toml points a node at the host for it.
    expect(registryHosts(parseConfig({ registry: { external: { prefix: "registry.example.net/dify" } } }))).toEqual([]);
  });
  it("the KEP-1755 ConfigMap names the three views of the registry", () => {
    const data = parse(localRegistryHosting(parseConfig({}))["localRegistryHosting.v1"] ?? "") as Record<string, string>;
    expect(data).toMatchObject({
      host: "localhost:5050",
      hostFromContainerRuntime: "host.docker.internal:5050",
      hostFromClusterNetwork: "host.docker.internal:5050",
    });
    expect(data.help).toMatch(/^https:\/\//);
  });
});

describe("Corefile edit", () => {
  it("adds a hosts block in the root server block, once", () => {
    const once = corefileWithHost(COREFILE, "172.18.0.1");
    expect(once).toContain("    hosts {\n        172.18.0.1 host.docker.internal\n        fallthrough\n    }\n");
    expect(once.startsWith(".:53 {\n")).toBe(true);
    expect(corefileWithHost(once, "172.18.0.1")).toBe(once);
    expect(corefileHost(once)).toBe("172.18.0.1");
  });
  it("updates the address when the gateway changed", () => {
    const moved = corefileWithHost(corefileWithHost(COREFILE, "172.18.0.1"), "172.19.0.1");
    expect(corefileHost(moved)).toBe("172.19.0.1");
    expect(moved.match(/hosts \{/g)).toHaveLength(1);
  });
  it("refuses a Corefile without a root block", () => {
    expect(() => corefileWithHost("example.org {\n}\n", "1.2.3.4")).toThrow(/\.:53/);
  });
});

describe("/etc/hosts edit", () => {
  const hosts = "127.0.0.1\tlocalhost\n172.18.0.2\tdify-ee-kind-worker\n";
  it("appends the alias, then leaves a correct file alone", () => {
    const next = etcHostsWithAlias(hosts, "172.18.0.1");
    expect(next).toBe(`${hosts}172.18.0.1\thost.docker.internal\n`);
    expect(etcHostsWithAlias(next ?? "", "172.18.0.1")).toBeUndefined();
  });
  it("replaces a stale entry", () => {
    expect(etcHostsWithAlias(`${hosts}10.0.0.1 host.docker.internal\n`, "172.18.0.1")).toBe(`${hosts}172.18.0.1\thost.docker.internal\n`);
  });
});

describe("kind version and gateway bindings", () => {
  it("parses and compares versions", () => {
    expect(parseKindVersion("kind v0.27.0 go1.23.4 linux/amd64")).toBe("0.27.0");
    expect(versionAtLeast("0.27.0", "0.20.0")).toBe(true);
    expect(versionAtLeast("0.9.1", "0.20.0")).toBe(false);
    expect(versionAtLeast("1.0.0", "0.20.0")).toBe(true);
  });
  it("publishes on the gateway as well as loopback on Linux, and nothing extra on Docker Desktop", () => {
    const ports = [{ containerPort: 5432, hostPort: 55432, hostIp: "127.0.0.1", key: "postgres.port" }];
    expect(gatewayBindings(ports, { mode: "desktop" })).toEqual(ports);
    expect(gatewayBindings(ports, { mode: "gateway", ip: "172.18.0.1" }).map((p) => p.hostIp)).toEqual(["127.0.0.1", "172.18.0.1"]);
    expect(gatewayBindings([{ ...ports[0]!, hostIp: "0.0.0.0" }], { mode: "gateway", ip: "172.18.0.1" })).toHaveLength(1);
  });
});
