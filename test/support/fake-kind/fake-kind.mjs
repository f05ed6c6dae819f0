// A FAKE `kind` executable, used only by tests through PATH: kind and a Kubernetes API server
// cannot run on the test machines. It behaves like kind (v0.20+) where dify-local depends on it,
// on the real Docker engine:
//   kind version                                  -> "kind v<FAKE_KIND_VERSION> ..."
//   kind get clusters                             -> names from node containers' labels
//   kind get nodes [--name N]                     -> node container names
//   kind create cluster [--name N] [--config F]   -> decodes the config strictly, as kind does (an
//        unknown field or a wrong type fails with kind's message and exit 1); makes node containers
//        <N>-control-plane, <N>-worker, <N>-worker2, ... with kind's labels on the `kind` network
//        (created when missing), publishing each node's extraPortMappings as kind does
//        (listenAddress, default 0.0.0.0; protocol, default TCP), with the node image's
//        /etc/containerd/config.toml patched by the config's containerdConfigPatches as kind
//        patches it (TOML to JSON, a JSON merge patch each, back to TOML), and containerd run as
//        its systemd unit runs it (node/containerd-service, with node/systemctl for `systemctl
//        restart containerd`, kind's and dify-local's way to make containerd read its config
//        again); when a node cannot start (a host port taken) it deletes the nodes again and fails
//        like kind; waits until containerd answers in every node; records the config
//   kind delete cluster [--name N]                -> removes those containers
//   kind get kubeconfig [--name N] [--internal]   -> a kubeconfig for context kind-N whose server is
//        FAKE_KIND_API_SERVER (the test's Kubernetes API double), or with --internal kind's
//        in-network address https://N-control-plane:6443
// Flags are checked per command like kind's (cobra): an unknown one fails with
// "ERROR: unknown flag: --x" and exit 1. The cluster name defaults to the config's name, then
// KIND_CLUSTER_NAME, then "kind".
// Nodes run dify-local-fixture/kind-node: Debian with sh, bash, curl, jq and a real containerd
// (content store only, no kubelet). Environment: FAKE_KIND_STATE_DIR (records: <name>.config.yaml,
// calls.log), FAKE_KIND_VERSION, FAKE_KIND_NODE_IMAGE, FAKE_KIND_API_SERVER, and
// FAKE_KIND_NODE_CONTAINERD_CONFIG: a file used as the node image's containerd config instead of
// the fixture's (another node image: one before kind v0.27 has no registry config_path).
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Docker from "dockerode";
import { parse as parseToml, stringify as stringifyToml } from "smol-toml";
import { extract, pack } from "tar-stream";
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from "yaml";

const docker = new Docker();
const args = process.argv.slice(2);
const stateDir = process.env.FAKE_KIND_STATE_DIR;
const version = process.env.FAKE_KIND_VERSION ?? "0.27.0";
const nodeImage = process.env.FAKE_KIND_NODE_IMAGE ?? "dify-local-fixture/kind-node:latest";
const CLUSTER = "io.x-k8s.kind.cluster";
const ROLE = "io.x-k8s.kind.role";

if (stateDir) {
  mkdirSync(stateDir, { recursive: true });
  appendFileSync(join(stateDir, "calls.log"), `${args.join(" ")}\n`);
}

/** kind prints every error as "ERROR: <message>" on stderr and exits 1. */
function fail(message) {
  process.stderr.write(`ERROR: ${message}\n`);
  process.exit(1);
}

// ------------------------------------------------------------------ command line, as cobra parses it

// Flags of each command (true: takes a value). kind's global flags apply everywhere.
const GLOBAL = { "--verbosity": true, "-v": true, "--quiet": false, "-q": false, "--loglevel": true, "--help": false, "-h": false };
const COMMANDS = {
  version: {},
  "get clusters": {},
  "get nodes": { "--name": true, "--all-clusters": false, "-A": false },
  "get kubeconfig": { "--name": true, "--internal": false },
  "create cluster": { "--name": true, "--config": true, "--image": true, "--retain": false, "--wait": true, "--kubeconfig": true },
  "delete cluster": { "--name": true, "--kubeconfig": true },
};

function resolveCommand() {
  // dify-local (like most callers) puts the command words first: "create cluster --name N ...".
  const words = args.slice(0, 2).filter((a) => !a.startsWith("-"));
  const two = words.slice(0, 2).join(" ");
  const one = words[0] ?? "";
  const command = COMMANDS[two] ? two : COMMANDS[one] ? one : undefined;
  if (!command) {
    if (!one) fail("a command is required (the fake kind implements: " + Object.keys(COMMANDS).join(", ") + ")");
    if (["get", "create", "delete"].includes(one)) fail(`unknown command "${words[1] ?? ""}" for "kind ${one}"`);
    fail(`unknown command "${one}" for "kind"`);
  }
  const known = { ...GLOBAL, ...COMMANDS[command] };
  const values = {};
  const consumed = new Set();
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (consumed.has(i) || !a.startsWith("-") || a === "-") continue;
    const long = a.startsWith("--");
    const eq = long ? a.indexOf("=") : -1;
    const name = long ? (eq >= 0 ? a.slice(0, eq) : a) : a.slice(0, 2);
    if (!(name in known)) {
      fail(long ? `unknown flag: ${name}` : `unknown shorthand flag: '${a[1]}' in ${a}`);
    }
    if (!known[name]) {
      values[name] = "true";
      continue;
    }
    let value = long ? (eq >= 0 ? a.slice(eq + 1) : undefined) : a.length > 2 ? a.slice(2) : undefined;
    if (value === undefined) {
      if (i + 1 >= args.length) fail(`flag needs an argument: ${long ? name : `'${a[1]}' in ${a}`}`);
      value = args[i + 1];
      consumed.add(i + 1);
    }
    values[name] = value;
  }
  const positional = args.filter((a, i) => !consumed.has(i) && !(a.startsWith("-") && a !== "-"));
  const extra = positional.slice(command.split(" ").length);
  if (extra.length > 0) fail(`unknown command "${extra[0]}" for "kind ${command}"`);
  return { command, values };
}

// ------------------------------------------------------------------ strict decoding of the config

// kind's v1alpha4 types (sigs.k8s.io/kind pkg/apis/config/v1alpha4/types.go), field by field.
// kind decodes with gopkg.in/yaml.v3 and KnownFields(true): an unknown field is an error.
const S = "string";
const I = "int32";
const B = "bool";
const TYPES = {
  Cluster: {
    kind: S,
    apiVersion: S,
    name: S,
    nodes: ["Node"],
    networking: "Networking",
    featureGates: { map: B },
    runtimeConfig: { map: S },
    kubeadmConfigPatches: [S],
    kubeadmConfigPatchesJSON6902: ["PatchJSON6902"],
    containerdConfigPatches: [S],
    containerdConfigPatchesJSON6902: [S],
  },
  Node: {
    role: S,
    image: S,
    labels: { map: S },
    extraMounts: ["Mount"],
    extraPortMappings: ["PortMapping"],
    gpus: S,
    kubeadmConfigPatches: [S],
    kubeadmConfigPatchesJSON6902: ["PatchJSON6902"],
  },
  Networking: {
    ipFamily: S,
    apiServerPort: I,
    apiServerAddress: S,
    podSubnet: S,
    serviceSubnet: S,
    disableDefaultCNI: B,
    kubeProxyMode: S,
    dnsSearch: [S],
  },
  PatchJSON6902: { group: S, version: S, kind: S, patch: S },
  Mount: { containerPath: S, hostPath: S, readOnly: B, selinuxRelabel: B, propagation: S },
  PortMapping: { containerPort: I, hostPort: I, listenAddress: S, protocol: S },
};

function yamlTag(node) {
  if (isMap(node)) return "!!map";
  if (isSeq(node)) return "!!seq";
  if (node.value === null) return "!!null";
  return typeof node.value === "number"
    ? Number.isInteger(node.value)
      ? "!!int"
      : "!!float"
    : typeof node.value === "boolean"
      ? "!!bool"
      : "!!str";
}

/** yaml.v3's messages: "line N: field X not found in type v1alpha4.T", "line N: cannot unmarshal !!str `x` into int32". */
function check(node, type, lines, errors) {
  if (!node || (isScalar(node) && node.value === null)) return;
  const line = lines.linePos(node.range?.[0] ?? 0).line;
  const mismatch = (into) =>
    errors.push(`line ${line}: cannot unmarshal ${yamlTag(node)}${isScalar(node) ? ` \`${node.source ?? node.value}\`` : ""} into ${into}`);
  if (typeof type === "string" && TYPES[type]) {
    if (!isMap(node)) return mismatch(`v1alpha4.${type}`);
    for (const pair of node.items) {
      const key = String(pair.key?.value);
      const keyLine = lines.linePos(pair.key?.range?.[0] ?? 0).line;
      if (!(key in TYPES[type])) errors.push(`line ${keyLine}: field ${key} not found in type v1alpha4.${type}`);
      else check(pair.value, TYPES[type][key], lines, errors);
    }
  } else if (Array.isArray(type)) {
    if (!isSeq(node)) return mismatch(`[]${TYPES[type[0]] ? `v1alpha4.${type[0]}` : type[0]}`);
    for (const item of node.items) check(item, type[0], lines, errors);
  } else if (typeof type === "object") {
    if (!isMap(node)) return mismatch(`map[string]${type.map}`);
    for (const pair of node.items) check(pair.value, type.map, lines, errors);
  } else if (type === I) {
    if (!isScalar(node) || !Number.isInteger(node.value) || node.value < -(2 ** 31) || node.value >= 2 ** 31) mismatch("int32");
  } else if (type === B) {
    if (!isScalar(node) || typeof node.value !== "boolean") mismatch("bool");
  } else if (!isScalar(node) || isMap(node) || isSeq(node)) {
    mismatch("string");
  }
}

/** kind's encoding.Parse: apiVersion and kind first, then the strict decode. */
function decodeConfig(text) {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false });
  if (doc.errors.length > 0)
    fail(`failed to create cluster: could not determine kind / apiVersion for config: yaml: ${doc.errors[0].message}`);
  const raw = doc.toJS() ?? {};
  if (raw.apiVersion !== "kind.x-k8s.io/v1alpha4" && raw.apiVersion !== "kind.sigs.k8s.io/v1alpha3")
    fail(`failed to create cluster: unknown apiVersion: ${raw.apiVersion ?? ""}`);
  // (sic: kind's message has the two values the other way round)
  if (raw.kind !== "Cluster") fail(`failed to create cluster: unknown kind ${raw.apiVersion} for apiVersion: ${raw.kind ?? ""}`);
  const errors = [];
  check(doc.contents, "Cluster", lines, errors);
  if (errors.length > 0) fail(`failed to create cluster: unable to decode config: yaml: unmarshal errors:\n  ${errors.join("\n  ")}`);
  return raw;
}

// ------------------------------------------------------------------ the engine side

async function nodesOf(name) {
  return docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${CLUSTER}=${name}`] }) });
}

async function clusters() {
  const all = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [CLUSTER] }) });
  return [...new Set(all.map((c) => c.Labels[CLUSTER]))].sort();
}

async function ensureNetwork() {
  try {
    await docker.getNetwork("kind").inspect();
  } catch {
    await docker.createNetwork({ Name: "kind", Driver: "bridge", CheckDuplicate: true });
  }
}

/**
 * kind's docker provider passes HTTP_PROXY, HTTPS_PROXY and NO_PROXY (either case) from its own
 * environment into every node container, adding the kind network's subnets and the cluster's
 * service names to NO_PROXY; without a proxy it passes nothing.
 */
async function proxyEnv() {
  const get = (k) => process.env[k] ?? process.env[k.toLowerCase()];
  const http = get("HTTP_PROXY");
  const https = get("HTTPS_PROXY");
  if (!http && !https) return [];
  const info = await docker.getNetwork("kind").inspect();
  const subnets = (info.IPAM?.Config ?? []).map((c) => c.Subnet).filter(Boolean);
  const noProxy = [...subnets, get("NO_PROXY") ?? "", ".svc", ".svc.cluster", ".svc.cluster.local"].filter(Boolean).join(",");
  const env = { HTTP_PROXY: http, HTTPS_PROXY: https, NO_PROXY: noProxy };
  return Object.entries(env)
    .filter(([, v]) => v)
    .flatMap(([k, v]) => [`${k}=${v}`, `${k.toLowerCase()}=${v}`]);
}

/** kind's generatePortMappings: listenAddress defaults to 0.0.0.0, protocol to TCP; hostPort 0 or -1 lets Docker pick. */
function portBindings(mappings = []) {
  const exposed = {};
  const bindings = {};
  for (const pm of mappings) {
    const protocol = (pm.protocol ?? "TCP").toUpperCase();
    if (!["TCP", "UDP", "SCTP"].includes(protocol)) fail(`failed to create cluster: unknown port mapping protocol: ${pm.protocol}`);
    const key = `${pm.containerPort}/${protocol.toLowerCase()}`;
    exposed[key] = {};
    const hostPort = pm.hostPort && pm.hostPort > 0 ? String(pm.hostPort) : "";
    (bindings[key] ??= []).push({ HostIp: pm.listenAddress || "0.0.0.0", HostPort: hostPort });
  }
  return { exposed, bindings };
}

/** Runs a command in a container; true when it exits 0. */
async function execOk(container, cmd) {
  const exec = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  await new Promise((resolve) => {
    stream.on("end", resolve);
    stream.on("error", resolve);
    stream.resume();
  });
  return (await exec.inspect()).ExitCode === 0;
}

/** kind returns once its nodes are up; here "up" means containerd answers in the node. */
async function waitForContainerd(container, nodeName) {
  const deadline = Date.now() + 30_000;
  for (let delay = 100; ; delay = Math.min(delay * 2, 1000)) {
    if (await execOk(container, ["ctr", "version"]).catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`containerd did not answer in node ${nodeName} within 30s`);
    await new Promise((r) => setTimeout(r, delay));
  }
}

// ------------------------------------------------------------------ node provisioning

const CONTAINERD_CONFIG = "etc/containerd/config.toml";

/** RFC 7386, as kind applies each containerdConfigPatch (github.com/evanphx/json-patch MergePatch). */
function mergePatch(target, patch) {
  if (typeof patch !== "object" || patch === null || Array.isArray(patch)) return patch;
  const out = typeof target === "object" && target !== null && !Array.isArray(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** kind's patch.TOML: the config and each patch as data, merged, written as TOML again (types kept). */
function patchToml(text, patches) {
  let doc = parseToml(text, { integersAsBigInt: true });
  for (const p of patches) {
    try {
      doc = mergePatch(doc, parseToml(p, { integersAsBigInt: true }));
    } catch (err) {
      fail(`failed to create cluster: failed to patch containerd config: ${err.message}`);
    }
  }
  return stringifyToml(doc, { numbersAsFloat: true });
}

/** One file out of a (created, not yet started) container, through the archive API. */
async function readFromContainer(container, path) {
  const stream = await container.getArchive({ path: `/${path}` });
  const tar = extract();
  let body = "";
  tar.on("entry", (header, entry, next) => {
    entry.on("data", (d) => (body += d.toString("utf8")));
    entry.on("end", next);
  });
  stream.pipe(tar);
  await new Promise((resolve, reject) => tar.on("finish", resolve).on("error", reject));
  return body;
}

/**
 * Before a node starts: its containerd config (the image's, or FAKE_KIND_NODE_CONTAINERD_CONFIG's)
 * with the cluster's containerdConfigPatches, and the systemd stand-in from node/.
 */
async function provisionNode(container, patches) {
  const files = ["containerd-service", "systemctl"].map((name) => ({
    name: `usr/local/bin/${name}`,
    mode: 0o755,
    body: readFileSync(new URL(`./node/${name}`, import.meta.url)),
  }));
  const image = process.env.FAKE_KIND_NODE_CONTAINERD_CONFIG;
  if (image || patches.length > 0) {
    const base = image ? readFileSync(image, "utf8") : await readFromContainer(container, CONTAINERD_CONFIG);
    files.push({ name: CONTAINERD_CONFIG, mode: 0o644, body: Buffer.from(patches.length ? patchToml(base, patches) : base) });
  }
  const tar = pack();
  for (const f of files) tar.entry({ name: f.name, mode: f.mode }, f.body);
  tar.finalize();
  await container.putArchive(tar, { path: "/" });
}

async function create(flagName, configFile) {
  const text = configFile
    ? readFileSync(configFile === "-" ? 0 : configFile, "utf8")
    : "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\n";
  const config = decodeConfig(text);
  const name = flagName ?? config.name ?? process.env.KIND_CLUSTER_NAME ?? "kind";
  if ((await clusters()).includes(name)) fail(`failed to create cluster: node(s) already exist for a cluster with the name "${name}"`);
  if (stateDir) writeFileSync(join(stateDir, `${name}.config.yaml`), text);
  process.stderr.write(`Creating cluster "${name}" ...\n ✓ Ensuring node image (fake)\n`);
  await ensureNetwork();
  const counts = {};
  const made = [];
  try {
    for (const node of config.nodes ?? [{ role: "control-plane" }]) {
      const role = node.role ?? "control-plane";
      counts[role] = (counts[role] ?? 0) + 1;
      const nodeName = `${name}-${role}${counts[role] === 1 ? "" : counts[role]}`;
      const { exposed, bindings } = portBindings(node.extraPortMappings);
      const container = await docker.createContainer({
        name: nodeName,
        Hostname: nodeName,
        Image: nodeImage,
        Cmd: ["containerd-service"],
        Env: await proxyEnv(),
        Labels: { [CLUSTER]: name, [ROLE]: role },
        ExposedPorts: exposed,
        HostConfig: { NetworkMode: "kind", PortBindings: bindings, RestartPolicy: { Name: "on-failure", MaximumRetryCount: 1 } },
      });
      made.push({ container, nodeName });
      await provisionNode(container, config.containerdConfigPatches ?? []);
      try {
        await container.start();
      } catch (err) {
        // kind runs `docker run -d ...` per node and reports the command's failure.
        const published = Object.entries(bindings).flatMap(([k, bs]) => bs.map((b) => `--publish=${b.HostIp}:${b.HostPort}:${k}`));
        throw new Error(
          `command "docker run --name ${nodeName} --hostname ${nodeName} --label ${ROLE}=${role} ${published.join(" ")} ${nodeImage}" failed with error: exit status 125\n` +
            `Command Output: docker: Error response from daemon: ${err.json?.message ?? err.message}.`,
          { cause: err },
        );
      }
    }
    await Promise.all(made.map((m) => waitForContainerd(m.container, m.nodeName)));
  } catch (err) {
    // Without --retain, kind deletes what it made when creation fails.
    if (!values["--retain"]) for (const m of made) await m.container.remove({ force: true, v: true }).catch(() => undefined);
    fail(`failed to create cluster: ${err.message}`);
  }
  process.stderr.write(` ✓ Preparing nodes (fake)\nSet kubectl context to "kind-${name}"\n`);
}

async function remove(name) {
  process.stderr.write(`Deleting cluster "${name}" ...\n`);
  for (const c of await nodesOf(name)) await docker.getContainer(c.Id).remove({ force: true, v: true });
}

function kubeconfig(name, internal) {
  // --internal: the address other containers on the kind network use (kind's own answer). The
  // default: the test's API double (kind's answer would be https://127.0.0.1:<random port>).
  const server = internal ? `https://${name}-control-plane:6443` : (process.env.FAKE_KIND_API_SERVER ?? "http://127.0.0.1:1");
  return `apiVersion: v1
kind: Config
clusters:
- cluster:
    server: ${server}
    # client-node refuses plain HTTP unless told; the double speaks HTTP on loopback.
    insecure-skip-tls-verify: true
  name: kind-${name}
contexts:
- context:
    cluster: kind-${name}
    user: kind-${name}
  name: kind-${name}
current-context: kind-${name}
users:
- name: kind-${name}
  user:
    token: fake
`;
}

const { command, values } = resolveCommand();
const defaultName = process.env.KIND_CLUSTER_NAME ?? "kind";
if (command === "version") {
  process.stdout.write(`kind v${version} go1.22.0 linux/amd64\n`);
} else if (command === "get clusters") {
  const names = await clusters();
  process.stdout.write(names.length ? `${names.join("\n")}\n` : "");
  if (!names.length) process.stderr.write("No kind clusters found.\n");
} else if (command === "get nodes") {
  const name = values["--name"] ?? defaultName;
  const nodes = await nodesOf(name);
  for (const c of nodes) process.stdout.write(`${c.Names[0].slice(1)}\n`);
  if (!nodes.length) process.stderr.write(`No kind nodes found for cluster "${name}".\n`);
} else if (command === "get kubeconfig") {
  const name = values["--name"] ?? defaultName;
  const controlPlanes = (await nodesOf(name)).filter((c) => c.Labels[ROLE] === "control-plane");
  if (controlPlanes.length === 0)
    fail(`could not locate any control plane nodes for cluster named '${name}'. Use the --name option to select a different cluster`);
  process.stdout.write(kubeconfig(name, values["--internal"] === "true"));
} else if (command === "create cluster") {
  await create(values["--name"], values["--config"]);
} else if (command === "delete cluster") {
  await remove(values["--name"] ?? defaultName);
}
