import { describe, expect, it } from "vitest";
import { parseConfig } from "../config/index.js";
import { minioFindings, postgresFindings } from "../services/index.js";
import { podProblem } from "../cluster/index.js";
import { explainIngress, ingressRule, type IngressFacts } from "./ingress.js";
import { containers, exposure, ports, prerequisites, volumes } from "./rules.js";
import type { DoctorFacts } from "./types.js";
import { valuesRule } from "./values-rule.js";

function facts(over: Partial<DoctorFacts> = {}): DoctorFacts {
  return {
    platform: "linux",
    config: parseConfig({}),
    engine: { reachable: true, address: "unix:///var/run/docker.sock", version: "27.0.0" },
    tools: { kind: { version: "0.27.0" }, helm: true, kubectl: true },
    containers: [],
    ports: [],
    volumes: [],
    services: [],
    ...over,
  };
}

describe("prerequisites", () => {
  it("reports an unreachable engine as an error with its hint", () => {
    const f = prerequisites(
      facts({ engine: { reachable: false, address: "unix:///x.sock", error: "connection refused", hint: "start Docker" } }),
    );
    expect(f[0]).toMatchObject({ id: "prereq.engine", severity: "error", fix: "start Docker" });
  });
  it("missing kind is an error only when the cluster is wanted; helm and kubectl are warnings", () => {
    const missing = facts({ tools: { kind: { missing: true }, helm: false, kubectl: false } });
    expect(prerequisites(missing).map((x) => [x.id, x.severity])).toEqual([
      ["prereq.engine", "ok"],
      ["prereq.kind", "error"],
      ["prereq.helm", "warning"],
      ["prereq.kubectl", "warning"],
    ]);
    expect(prerequisites({ ...missing, config: parseConfig({ cluster: { enabled: false } }) })[1]?.severity).toBe("info");
  });
});

describe("ports", () => {
  it("names the holder and, on macOS, explains AirPlay for port 5000", () => {
    const f = ports(
      facts({
        platform: "darwin",
        config: parseConfig({ registry: { port: 5000 } }),
        ports: [
          {
            service: "registry",
            key: "registry.port",
            hostIp: "127.0.0.1",
            port: 5000,
            status: "taken",
            holder: "ControlCenter (pid 501)",
          },
        ],
      }),
    );
    expect(f[0]?.what).toContain("held by ControlCenter (pid 501) (on macOS this is usually AirPlay Receiver");
    expect(f.find((x) => x.id === "ports.registry.airplay")?.fix).toContain("5050");
  });
  it("a port a connection's local end holds: wait or reserve it, never 'stop' a connection", () => {
    const [finding] = ports(
      facts({
        ports: [
          {
            service: "postgres",
            key: "postgres.port",
            hostIp: "127.0.0.1",
            port: 55432,
            status: "taken",
            holder: "the local end of a closed connection (TIME_WAIT, ...)",
            ephemeral: { reservedNow: "9090" },
          },
        ],
      }),
    );
    expect(finding?.fix).toMatch(/^try again once the connection has closed/);
    expect(finding?.fix).toContain("sudo sysctl -w net.ipv4.ip_local_reserved_ports=9090,55432 ");
    expect(finding?.fix).toContain("or set postgres.port to a free port in dify-local.yaml");
  });
  it("is quiet on Linux about 5000 and ok when everything is free", () => {
    expect(ports(facts({ ports: [{ service: "redis", key: "redis.port", hostIp: "127.0.0.1", port: 6379, status: "free" }] }))).toEqual([
      { id: "ports", severity: "ok", what: "every configured port is free or held by its own container" },
    ]);
  });
});

describe("containers, postgres, minio", () => {
  it("shows an exited container's last log lines", () => {
    const observed = {
      id: "x",
      name: "dev-redis",
      image: "redis:7",
      imageId: "",
      running: false,
      state: "exited",
      startedAt: "",
      labels: {},
      env: {},
      cmd: [],
      ports: [],
      mounts: [],
      restart: "",
      networks: [],
    };
    const [f] = containers(
      facts({ containers: [{ service: "redis", name: "dev-redis", observed, logs: "line 1\nFatal error, can't open config file" }] }),
    );
    expect(f).toMatchObject({ severity: "error" });
    expect(f?.what).toContain("Fatal error, can't open config file");
  });
  it("explains a password the volume does not know, with both fixes", () => {
    const [f] = postgresFindings(parseConfig({}).postgres, { authFailed: true, missingDatabases: [] });
    expect(f?.why).toContain("POSTGRES_PASSWORD is applied only to an empty data directory");
    expect(f?.fix).toContain("set postgres.password");
    expect(f?.fix).toContain("ALTER USER postgres WITH PASSWORD");
  });
  it("reports stray files in the data directory with the upload command", () => {
    const f = minioFindings(parseConfig({}).minio, { bucketExists: true, access: "public", strayFiles: ["notes.txt"] });
    expect(f.find((x) => x.id === "minio.direct-files")?.fix).toContain("dify-local storage cp LOCAL_FILE notes.txt");
  });
});

describe("values rule", () => {
  const expected = [
    { path: ["persistence", "s3", "accessKey"], value: "minioadmin", secret: false },
    { path: ["persistence", "s3", "secretKey"], value: "minioadmin123", secret: true },
    { path: ["externalRedis", "host"], value: "host.docker.internal", secret: false },
    { path: ["externalRedis", "port"], value: 6379, secret: false },
    { path: ["minio", "enabled"], value: false, secret: false },
    { path: ["plugin_connector", "imageRepoType"], value: "docker", secret: false },
    { path: ["plugin_connector", "insecureImageRepo"], value: true, secret: false },
    { path: ["externalDatabase", "dialectOptions", "postgres", "sslMode"], value: "disable", secret: false },
  ];
  const run = (data: unknown) => valuesRule(facts({ values: { file: "values.yaml", data, expected } }));
  const good = {
    persistence: { s3: { accessKey: "minioadmin", secretKey: "minioadmin123" } },
    externalRedis: { host: "host.docker.internal", port: 6379 },
    minio: { enabled: false },
    plugin_connector: { imageRepoType: "docker", insecureImageRepo: true },
    externalDatabase: { dialectOptions: { postgres: { sslMode: "disable" } } },
  };
  it("passes a file that matches", () => {
    expect(run(good)).toEqual([{ id: "values", severity: "ok", what: "values.yaml matches the live stack" }]);
  });
  it("flags the CRITICAL S3 credential mismatch without printing the secret", () => {
    const f = run({ ...good, persistence: { s3: { accessKey: "minioadmin", secretKey: "s3cr3t-typo" } } });
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ id: "values.s3-credentials", severity: "error" });
    expect(f[0]?.why).toContain("PrivkeyNotFoundError");
    expect(f[0]?.fix).toContain("flask reset-encrypt-key-pair");
    expect(JSON.stringify(f)).not.toContain("s3cr3t-typo");
  });
  it.each([
    [{ externalRedis: { host: "localhost", port: 6379 } }, "values.externalRedis.host", "host.docker.internal"],
    [{ externalRedis: { host: "host.docker.internal", port: 6380 } }, "values.externalRedis.port", "match the live stack"],
    [{ minio: { enabled: true } }, "values.minio.enabled", "post-install job hang"],
    [
      { plugin_connector: { imageRepoType: "docker", insecureImageRepo: false } },
      "values.plugin_connector.insecureImageRepo",
      "plain HTTP",
    ],
    [{ plugin_connector: { imageRepoType: "ecr", insecureImageRepo: true } }, "values.plugin_connector.imageRepoType", "AWS credentials"],
    [
      { externalDatabase: { dialectOptions: { postgres: { sslMode: "require" } } } },
      "values.externalDatabase.dialectOptions.postgres.sslMode",
      "no TLS",
    ],
    [{ pluginBuilder: { imageRepoPrefix: "x" } }, "values.pluginBuilder", "plugin_connector"],
    [{ externalQdrant: { endpoint: "http://host.docker.internal:6333" } }, "values.externalQdrant", "vectorDB.externalQdrant"],
  ])("flags %j", (patch, id, why) => {
    const f = run({ ...good, ...patch });
    const hit = f.find((x) => x.id === id);
    expect(hit?.severity).toBe("error");
    expect(`${hit?.why}`).toContain(why);
  });
  it("treats ECR with AWS credentials as a deliberate choice (warning)", () => {
    const f = run({
      ...good,
      plugin_connector: { imageRepoType: "ecr", insecureImageRepo: true, ecrRegion: "us-east-1", awsAccessKeyId: "AKIA" },
    });
    expect(f.find((x) => x.id === "values.plugin_connector.imageRepoType")?.severity).toBe("warning");
  });
  it("warns about a key that is missing", () => {
    const { minio: _m, ...rest } = good;
    expect(run(rest).find((x) => x.id === "values.minio.enabled")?.severity).toBe("warning");
  });

  describe("persistence.s3.addressType", () => {
    const withType = (addressType: unknown) =>
      valuesRule(
        facts({
          values: {
            file: "values.yaml",
            data: { ...good, persistence: { s3: { ...good.persistence.s3, addressType } } },
            expected: [...expected, { path: ["persistence", "s3", "addressType"], value: "path", secret: false }],
          },
        }),
      );
    it('accepts "" (the chart\'s default) and path', () => {
      expect(withType("")).toEqual([{ id: "values", severity: "ok", what: "values.yaml matches the live stack" }]);
      expect(withType("path")).toEqual([{ id: "values", severity: "ok", what: "values.yaml matches the live stack" }]);
    });
    it("warns about virtual-hosted style, which MinIO behind host.docker.internal cannot serve", () => {
      const f = withType("virtual");
      expect(f).toHaveLength(1);
      expect(f[0]).toMatchObject({ id: "values.persistence.s3.addressType", severity: "warning" });
      expect(f[0]?.why).toContain("<bucket>.host.docker.internal");
    });
  });
});

describe("exposure", () => {
  const redis = (address: string, defaultCredentials = ["password"]) => ({
    service: "redis",
    container: "dev-redis",
    bindings: [{ address, port: 6379 }],
    defaultCredentials,
  });
  const minio = (address: string, defaultCredentials: string[] = []) => ({
    service: "minio",
    container: "dev-minio",
    bindings: [
      { address, port: 9000 },
      { address, port: 9001 },
    ],
    defaultCredentials,
  });

  it("warns about a service on 0.0.0.0 or a LAN address with the seed's default password", () => {
    for (const address of ["0.0.0.0", "192.168.1.20", "::"]) {
      const f = exposure(facts({ exposure: [redis(address)] }));
      expect(f).toHaveLength(1);
      expect(f[0]).toMatchObject({
        id: "exposure.redis",
        severity: "warning",
        what: `dev-redis is reachable beyond this machine (${address}:6379) with the seed's default password`,
      });
      expect(f[0]?.fix).toContain("bind: 127.0.0.1");
    }
  });

  it("is fine with loopback and the kind network's gateway, with or without default passwords", () => {
    const f = exposure(
      facts({
        kindGateway: "172.18.0.1",
        exposure: [
          {
            ...redis("127.0.0.1"),
            bindings: [
              { address: "127.0.0.1", port: 6379 },
              { address: "172.18.0.1", port: 6379 },
            ],
          },
          minio("127.0.0.1", ["secret key"]),
        ],
      }),
    );
    expect(f).toEqual([
      { id: "exposure", severity: "ok", what: "every published port is on loopback (or the kind network's gateway, for pods)" },
    ]);
    // Without a cluster, the same gateway address is a network address like any other.
    expect(exposure(facts({ exposure: [redis("172.18.0.1")] }))[0]?.severity).toBe("warning");
  });

  it("only informs when a widely published service has its own password", () => {
    expect(exposure(facts({ exposure: [redis("0.0.0.0", [])] }))).toEqual([
      {
        id: "exposure.redis",
        severity: "info",
        what: "dev-redis is reachable beyond this machine (0.0.0.0:6379); its credentials are not the seed's defaults",
      },
    ]);
  });

  it("warns about the bucket writable without credentials while MinIO is reachable beyond this machine", () => {
    const f = exposure(facts({ exposure: [minio("0.0.0.0")] }));
    expect(f.map((x) => [x.id, x.severity])).toEqual([
      ["exposure.minio", "info"],
      ["exposure.minio.anonymous", "warning"],
    ]);
    expect(f[1]?.what).toBe(
      "bucket dify is writable without credentials (minio.anonymous: public) and MinIO is reachable beyond this machine (0.0.0.0:9000, 0.0.0.0:9001)",
    );
    expect(f[1]?.fix).toContain("minio.anonymous: download");
    // Read-only anonymous access, or MinIO on loopback: no bucket warning.
    expect(
      exposure(facts({ config: parseConfig({ minio: { anonymous: "download" } }), exposure: [minio("0.0.0.0")] })).map((x) => x.id),
    ).toEqual(["exposure.minio"]);
    expect(exposure(facts({ exposure: [minio("127.0.0.1")] })).map((x) => x.id)).toEqual(["exposure"]);
  });

  it("says nothing without containers", () => {
    expect(exposure(facts({ exposure: [] }))).toEqual([]);
    expect(exposure(facts())).toEqual([]);
  });
});

describe("volumes", () => {
  const since = "2024-05-01T10:00:00.000Z";
  it("a data volume dify-local used that is gone is an error: its data is lost", () => {
    const found = volumes(
      facts({
        volumes: [
          {
            service: "postgres",
            name: "dev-postgres-data",
            exists: false,
            recorded: { volume: "dev-postgres-data", component: "postgres", since },
          },
          { service: "redis", name: "dev-redis-data", exists: true, recorded: { volume: "dev-redis-data", component: "redis", since } },
        ],
      }),
    );
    expect(found).toEqual([
      {
        id: "volumes.postgres",
        severity: "error",
        what: `volume dev-postgres-data is missing: its data is lost (in use since ${since})`,
        why: expect.stringContaining("deleted outside dify-local") as unknown,
        fix: expect.stringContaining("restore dev-postgres-data from a backup") as unknown,
      },
    ]);
  });
  it("a missing volume dify-local never used is just not made yet", () => {
    expect(volumes(facts({ volumes: [{ service: "redis", name: "dev-redis-data", exists: false, recorded: undefined }] }))).toEqual([]);
  });
});

const installed: IngressFacts = { controller: "nginx", className: "nginx", classes: ["nginx"], ours: true };

describe("the doctor's ingress rule", () => {
  it("says nothing without a cluster, and nothing for a healthy install", () => {
    expect(ingressRule(facts())).toEqual([]);
    expect(ingressRule(facts({ ingress: installed }))).toEqual([]);
  });

  it("controller none: a warning while the cluster has no class of that name, ok once it has", () => {
    const none = { ...installed, controller: "none" as const, classes: [] };
    expect(ingressRule(facts({ ingress: none }))).toMatchObject([{ id: "ingress.class", severity: "warning" }]);
    expect(ingressRule(facts({ ingress: { ...none, classes: ["nginx"] } }))).toMatchObject([{ id: "ingress.class", severity: "ok" }]);
  });

  it("the class values.yaml names must be installed", () => {
    const values = { file: "values.yaml", data: { ingress: { className: "traefik" } }, expected: [] };
    expect(ingressRule(facts({ ingress: installed, values }))).toMatchObject([
      {
        id: "values.ingress.className",
        severity: "error",
        what: "values.yaml sets ingress.className: traefik, but the cluster has IngressClass nginx",
        fix: "set ingress.className: nginx in values.yaml (`dify-local values --merge` does), then helm upgrade",
      },
    ]);
    expect(ingressRule(facts({ ingress: installed, values: { ...values, data: { ingress: { className: "nginx" } } } }))).toEqual([]);
  });

  it("another web server on the ingress port is named, with macOS's usual suspects there", () => {
    const ports = [
      { service: "cluster", key: "cluster.httpPort", hostIp: "127.0.0.1", port: 80, status: "taken" as const, holder: "apache2 (pid 7)" },
    ];
    const [linux] = ingressRule(facts({ ingress: installed, ports }));
    expect(linux).toMatchObject({ id: "ingress.cluster.httpPort", severity: "error" });
    expect(linux?.what).toBe("port 127.0.0.1:80 (cluster.httpPort) is held by apache2 (pid 7), not by the ingress controller's node");
    expect(linux?.why).not.toContain("AirPlay");
    expect(ingressRule(facts({ ingress: installed, ports, platform: "darwin" }))[0]?.why).toContain("AirPlay");
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
