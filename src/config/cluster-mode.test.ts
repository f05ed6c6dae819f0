import { describe, expect, it } from "vitest";
import { clusterHost, CLUSTER_HOST, SERVICES } from "../services/index.js";
import { clusterMode, contextWords, existingContext, localServices, productionLike } from "./cluster-mode.js";
import { parseConfig } from "./load.js";
import { userErrorOf } from "../../test/support/errors.js";

const allDisabled = {
  registry: { enabled: false },
  postgres: { enabled: false },
  redis: { enabled: false },
  minio: { enabled: false },
  qdrant: { enabled: false },
};

describe("productionLike", () => {
  it.each([
    "prod",
    "PROD",
    "my-prod-eks",
    "prod_eu",
    "eks.production",
    "arn:aws:eks:us-east-1:123456789012:cluster/prod-eu",
    "gke_project_europe-west1_prd",
    "myProdCluster",
    "prod2",
    "team@production",
  ])("%s suggests production", (name) => {
    expect(productionLike(name)).toBe(true);
  });

  it.each(["dev", "staging", "product-dev", "preprod", "prodigy", "kind-dify-ee-kind", "products", "reproduce", "my-eks"])(
    "%s does not",
    (name) => {
      expect(productionLike(name)).toBe(false);
    },
  );

  it("splits at separators, case changes and digits", () => {
    expect(contextWords("arn:aws:eks:eu/myProdCluster2")).toEqual(["arn", "aws", "eks", "eu", "my", "prod", "cluster", "2"]);
  });
});

describe("cluster mode", () => {
  it("is kind by default, none without the cluster, existing with a context", () => {
    expect(clusterMode(parseConfig({}))).toBe("kind");
    expect(clusterMode(parseConfig({ cluster: { enabled: false } }))).toBe("none");
    const existing = parseConfig({ ...allDisabled, cluster: { context: "team-eks" } });
    expect(clusterMode(existing)).toBe("existing");
    expect(existingContext(existing)).toBe("team-eks");
    expect(existing.cluster.namespace).toBe("dify");
    expect(existing.cluster.probeImage).toBe("busybox:1.36.1");
  });

  it("--no-cluster turns an existing cluster off too (and the mixing rule with it)", () => {
    const c = parseConfig({ cluster: { enabled: false, context: "team-eks" } });
    expect(clusterMode(c)).toBe("none");
    expect(existingContext(c)).toBeUndefined();
  });

  it("counts a service with an external section as not local", () => {
    const config = parseConfig({ postgres: { external: { host: "db.internal", user: "dify", password: "x" } } });
    expect(localServices(SERVICES, config).map((s) => s.name)).toEqual(["registry", "redis", "minio", "qdrant"]);
  });
});

describe("existing cluster configuration", () => {
  it("refuses local containers without publicHost, naming cluster.context and the services, with the reason", () => {
    const err = userErrorOf(() =>
      parseConfig({ ...allDisabled, registry: { enabled: true }, redis: { enabled: true }, cluster: { context: "eks" } }),
    );
    expect(err.key).toBe("cluster.context");
    expect(err.message).toContain("registry, redis");
    expect(err.message).toContain("pods in a remote cluster cannot reach this laptop's containers");
    expect(err.message).toContain("publicHost");
  });

  it("takes local containers with publicHost, and gives the cluster publicHost instead of host.docker.internal", () => {
    const c = parseConfig({ ...allDisabled, registry: { enabled: true }, publicHost: "10.1.2.3", cluster: { context: "eks" } });
    expect(clusterHost(c)).toBe("10.1.2.3");
    const registry = SERVICES.find((s) => s.name === "registry");
    expect(registry?.endpoints(c)[0]?.cluster).toBe("http://10.1.2.3:5050");
    expect(clusterHost(parseConfig({}))).toBe(CLUSTER_HOST);
  });

  it("refuses publicHost with a kind cluster, naming it", () => {
    expect(userErrorOf(() => parseConfig({ publicHost: "10.1.2.3" })).key).toBe("publicHost");
    expect(parseConfig({ publicHost: "10.1.2.3", cluster: { enabled: false } }).publicHost).toBe("10.1.2.3");
  });

  it.each([
    [{ publicHost: "http://10.0.0.5" }, "publicHost"],
    [{ publicHost: "laptop:5432" }, "publicHost"],
    [{ cluster: { context: "" } }, "cluster.context"],
    [{ cluster: { context: "my eks" } }, "cluster.context"],
    [{ cluster: { context: "eks", namespace: "Dify" } }, "cluster.namespace"],
    [{ cluster: { context: "eks", namespace: "-dify" } }, "cluster.namespace"],
    [{ cluster: { context: "eks", probeImage: "BusyBox" } }, "cluster.probeImage"],
    [{ cluster: { context: "eks", probeTimeout: 1 } }, "cluster.probeTimeout"],
  ])("refuses %j naming %s", (input, key) => {
    expect(
      userErrorOf(() => parseConfig({ ...allDisabled, ...input, ...("cluster" in input ? {} : { cluster: { context: "eks" } }) })).key,
    ).toBe(key);
  });

  it("takes host names and IP addresses as publicHost", () => {
    for (const host of ["10.0.0.5", "laptop.corp.example", "fd00::5", "my-laptop"])
      expect(parseConfig({ ...allDisabled, publicHost: host, cluster: { context: "eks" } }).publicHost).toBe(host);
  });

  it("does not reserve the kind ingress ports for an existing cluster", () => {
    const c = parseConfig({ ...allDisabled, registry: { enabled: true, port: 80 }, publicHost: "10.0.0.5", cluster: { context: "eks" } });
    expect(c.registry.port).toBe(80);
    expect(userErrorOf(() => parseConfig({ registry: { port: 80 } })).key).toBe("cluster.httpPort");
  });
});
