import { parse } from "smol-toml";
import { describe, expect, it } from "vitest";
import { registrySettings, withConfigPath } from "./containerd.js";

/** A kind node image's /etc/containerd/config.toml before v0.27 (abridged): no registry config_path. */
const KIND_OLD = `# explicitly use v2 config format
version = 2

[proxy_plugins]
[proxy_plugins."fuse-overlayfs"]
  type = "snapshot"
  address = "/run/containerd-fuse-overlayfs.sock"

[plugins."io.containerd.grpc.v1.cri".containerd]
  discard_unpacked_layers = true
  snapshotter = "overlayfs"
  default_runtime_name = "runc"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
  base_runtime_spec = "/etc/containerd/cri-base.json"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
    SystemdCgroup = true

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.7"
  tolerate_missing_hugetlb_controller = true
  restrict_oom_score_adj = false

[plugins."io.containerd.gc.v1.scheduler"]
  pause_threshold = 0.02
  deletion_threshold = 0
  mutation_threshold = 100
  startup_delay = "100ms"
  float_whole = 1.0
`;

/** What kind's containerdConfigPatches (dify-local's kind config) add. */
const PATCH = `[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"\n`;

/** containerd 2.x's `config dump`: version 3, the registry under the CRI images plugin. */
const DUMP_V3 = (path: string) => `version = 3
root = "/var/lib/containerd"

[plugins]
  [plugins."io.containerd.cri.v1.images"]
    snapshotter = "overlayfs"

    [plugins."io.containerd.cri.v1.images".registry]
      config_path = "${path}"
`;

describe("registrySettings", () => {
  it("a kind node image before v0.27: config_path not set, in the version 2 CRI table", () => {
    expect(registrySettings(KIND_OLD)).toEqual({
      version: 2,
      table: 'plugins."io.containerd.grpc.v1.cri".registry',
      configPaths: [],
      readsCertsD: false,
      conflicts: [],
    });
  });

  it("the same image with kind's containerdConfigPatches applied reads certs.d", () => {
    expect(registrySettings(`${KIND_OLD}\n${PATCH}`)).toMatchObject({ readsCertsD: true, configPaths: ["/etc/containerd/certs.d"] });
  });

  it("containerd 2.x's version 3 dump: read from the CRI images plugin, not the old table", () => {
    expect(registrySettings(DUMP_V3("/etc/containerd/certs.d"))).toMatchObject({
      version: 3,
      table: 'plugins."io.containerd.cri.v1.images".registry',
      readsCertsD: true,
    });
    expect(registrySettings(DUMP_V3(""))).toMatchObject({ readsCertsD: false, configPaths: [] });
    // A version 3 config with the setting under the version 2 name: containerd 2.x ignores it.
    expect(registrySettings(`version = 3\n${PATCH}`).readsCertsD).toBe(false);
  });

  it("an unversioned config is version 1: [plugins.cri.registry]", () => {
    const v1 = registrySettings('[plugins.cri.registry]\n  config_path = "/etc/containerd/certs.d"\n');
    expect(v1).toMatchObject({ version: 1, table: "plugins.cri.registry", readsCertsD: true });
    expect(registrySettings(PATCH).readsCertsD).toBe(false);
  });

  it("config_path is a list like PATH: certs.d anywhere in it counts; another directory alone does not", () => {
    const at = (p: string) => registrySettings(`version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "${p}"\n`);
    expect(at("/opt/certs:/etc/containerd/certs.d")).toMatchObject({
      readsCertsD: true,
      configPaths: ["/opt/certs", "/etc/containerd/certs.d"],
    });
    expect(at("/opt/certs")).toMatchObject({ readsCertsD: false, configPaths: ["/opt/certs"] });
  });

  it("names the older settings containerd refuses next to config_path; the empty tables a dump prints are not among them", () => {
    const registry = 'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n';
    expect(
      registrySettings(
        `${registry}[plugins."io.containerd.grpc.v1.cri".registry.mirrors]\n[plugins."io.containerd.grpc.v1.cri".registry.configs]\n`,
      ).conflicts,
    ).toEqual([]);
    const mirrors = `${registry}[plugins."io.containerd.grpc.v1.cri".registry.mirrors."docker.io"]\n  endpoint = ["https://mirror.example"]\n`;
    const tls = `[plugins."io.containerd.grpc.v1.cri".registry.configs."reg.example".tls]\n  insecure_skip_verify = true\n`;
    expect(registrySettings(mirrors + tls).conflicts).toEqual(["mirrors (docker.io)", 'configs."reg.example".tls']);
  });

  it("refuses a version it does not know, and TOML containerd would not load", () => {
    expect(() => registrySettings("version = 4\n")).toThrow(/version 4 is not one dify-local knows/);
    expect(() => registrySettings("[plugins\n")).toThrow();
  });
});

describe("withConfigPath", () => {
  it("adds config_path to an old kind node config, keeping every other setting and its type", () => {
    const patched = withConfigPath(KIND_OLD);
    expect(registrySettings(patched)).toMatchObject({ readsCertsD: true, conflicts: [] });
    const before = parse(KIND_OLD, { integersAsBigInt: true });
    const after = parse(patched, { integersAsBigInt: true }) as { plugins: Record<string, { registry?: unknown }> };
    const cri = after.plugins["io.containerd.grpc.v1.cri"];
    expect(cri?.registry).toEqual({ config_path: "/etc/containerd/certs.d" });
    delete cri?.registry;
    expect(after).toEqual(before);
    // 1.0 stays a float and 0 an integer: Go's decoder is strict about both.
    expect(patched).toMatch(/float_whole = 1\.0\b/);
    expect(patched).toMatch(/deletion_threshold = 0\n/);
  });

  it("writes into the table of the file's own version", () => {
    const v3 = withConfigPath('version = 3\n[plugins."io.containerd.cri.v1.images"]\n  snapshotter = "overlayfs"\n');
    expect(registrySettings(v3)).toMatchObject({ version: 3, readsCertsD: true });
    expect(parse(v3)).toMatchObject({ plugins: { "io.containerd.cri.v1.images": { snapshotter: "overlayfs" } } });
    expect(registrySettings(withConfigPath("")).table).toBe("plugins.cri.registry");
  });

  it("keeps a directory already configured first, and leaves a config that reads certs.d as it is", () => {
    const other = 'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/opt/certs"\n';
    expect(registrySettings(withConfigPath(other)).configPaths).toEqual(["/opt/certs", "/etc/containerd/certs.d"]);
    const done = `${KIND_OLD}\n${PATCH}`;
    expect(withConfigPath(done)).toBe(done);
  });

  it("refuses when containerd would then refuse to load the CRI plugin (mirrors set)", () => {
    const mirrors = `version = 2\n[plugins."io.containerd.grpc.v1.cri".registry.mirrors."docker.io"]\n  endpoint = ["https://mirror.example"]\n`;
    expect(() => withConfigPath(mirrors)).toThrow(/also sets mirrors \(docker\.io\), which containerd refuses together with config_path/);
  });
});
