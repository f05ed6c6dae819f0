// A FAKE `kind` executable, used only by tests through PATH: kind and a Kubernetes API server
// cannot run on the test machines. It does what dify-local relies on, on the real Docker engine:
//   kind version                                  -> "kind v<FAKE_KIND_VERSION> ..."
//   kind get clusters                             -> names from node containers' labels
//   kind create cluster --name N --config FILE    -> node containers <N>-control-plane, <N>-worker,
//        <N>-worker2, ... with kind's labels (io.x-k8s.kind.cluster, io.x-k8s.kind.role) on the
//        `kind` network (created when missing, as kind does); the config is recorded
//   kind delete cluster --name N                  -> removes those containers
//   kind get kubeconfig --name N                  -> a kubeconfig for context kind-N whose server
//        is FAKE_KIND_API_SERVER (the test's Kubernetes API double)
// Nodes run dify-local-fixture/kind-node (Debian with sh, bash, curl): no kubelet, no containerd.
// Environment: FAKE_KIND_STATE_DIR (records: <name>.config.yaml, calls.log), FAKE_KIND_VERSION,
// FAKE_KIND_NODE_IMAGE, FAKE_KIND_API_SERVER.
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Docker from "dockerode";
import { parse } from "yaml";

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

function flag(name, fallback) {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
}

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

async function create(name, configFile) {
  if ((await clusters()).includes(name)) {
    process.stderr.write(`ERROR: failed to create cluster: node(s) already exist for a cluster with the name "${name}"\n`);
    process.exit(1);
  }
  const text = readFileSync(configFile === "-" ? 0 : configFile, "utf8");
  if (stateDir) writeFileSync(join(stateDir, `${name}.config.yaml`), text);
  const config = parse(text);
  await ensureNetwork();
  let workers = 0;
  for (const node of config.nodes ?? [{ role: "control-plane" }]) {
    const role = node.role;
    const nodeName = role === "control-plane" ? `${name}-control-plane` : `${name}-worker${workers++ === 0 ? "" : workers}`;
    const container = await docker.createContainer({
      name: nodeName,
      Hostname: nodeName,
      Image: nodeImage,
      Labels: { [CLUSTER]: name, [ROLE]: role },
      HostConfig: { NetworkMode: "kind" },
    });
    await container.start();
  }
  process.stderr.write(`Creating cluster "${name}" ...\n ✓ Ensuring node image (fake)\n`);
}

async function remove(name) {
  for (const c of await nodesOf(name)) await docker.getContainer(c.Id).remove({ force: true });
  process.stderr.write(`Deleting cluster "${name}" ...\n`);
}

function kubeconfig(name) {
  const server = process.env.FAKE_KIND_API_SERVER ?? "http://127.0.0.1:1";
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

const [a, b] = args;
if (a === "version") {
  process.stdout.write(`kind v${version} go1.22.0 linux/amd64\n`);
} else if (a === "get" && b === "clusters") {
  const names = await clusters();
  process.stdout.write(names.length ? `${names.join("\n")}\n` : "");
  if (!names.length) process.stderr.write("No kind clusters found.\n");
} else if (a === "get" && b === "nodes") {
  for (const c of await nodesOf(flag("--name", "kind"))) process.stdout.write(`${c.Names[0].slice(1)}\n`);
} else if (a === "get" && b === "kubeconfig") {
  const name = flag("--name", "kind");
  if (!(await clusters()).includes(name)) {
    process.stderr.write(`ERROR: could not locate any control plane nodes for cluster named '${name}'\n`);
    process.exit(1);
  }
  process.stdout.write(kubeconfig(name));
} else if (a === "create" && b === "cluster") {
  await create(flag("--name", "kind"), flag("--config", "-"));
} else if (a === "delete" && b === "cluster") {
  await remove(flag("--name", "kind"));
} else {
  process.stderr.write(`fake kind: unsupported arguments: ${args.join(" ")}\n`);
  process.exit(2);
}
