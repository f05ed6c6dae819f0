import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EnvironmentError, SubprocessError } from "../errors.js";

/** The oldest kind whose node config supports `labels` and containerd `config_path` patches as generated. */
export const MIN_KIND_VERSION = "0.20.0";

export const KIND_INSTALL_HINT =
  "install kind (https://kind.sigs.k8s.io/docs/user/quick-start/#installation): `brew install kind` on macOS, " +
  "`go install sigs.k8s.io/kind@latest` or the release binary on Linux; or run with --no-cluster for the host services only";

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Runs `kind` with arguments (and optional stdin), capturing output into a typed error on failure. */
export async function runKind(args: string[], options: { stdin?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn("kind", args, { env: options.env ?? process.env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT")
        reject(
          new EnvironmentError(`kind is not installed (not found on PATH); dify-local needs kind ${MIN_KIND_VERSION} or newer`, {
            hint: KIND_INSTALL_HINT,
          }),
        );
      else reject(err);
    });
    child.on("close", (code) => {
      if (code === 0) resolve({ stdout, stderr });
      else reject(new SubprocessError(["kind", ...args], code, stdout, stderr));
    });
    child.stdin.end(options.stdin ?? "");
  });
}

/** `kind version` -> "0.27.0". */
export function parseKindVersion(output: string): string | undefined {
  return /v(\d+\.\d+\.\d+)/.exec(output)?.[1];
}

export function versionAtLeast(have: string, want: string): boolean {
  const a = have.split(".").map(Number);
  const b = want.split(".").map(Number);
  for (let i = 0; i < 3; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}

/** How dify-local runs `kind`: the real binary by default; tests and embedders may pass their own. */
export type KindRunner = (args: string[], options?: { stdin?: string; env?: NodeJS.ProcessEnv }) => Promise<RunResult>;

/** The kind binary as dify-local uses it. */
export class Kind {
  constructor(private readonly run: KindRunner = runKind) {}

  /** The installed version; throws EnvironmentError when missing or older than {@link MIN_KIND_VERSION}. */
  async version(): Promise<string> {
    const { stdout } = await this.run(["version"]);
    const v = parseKindVersion(stdout);
    if (!v || !versionAtLeast(v, MIN_KIND_VERSION)) {
      throw new EnvironmentError(`kind ${v ?? "(unknown version)"} is too old: dify-local needs kind ${MIN_KIND_VERSION} or newer`, {
        hint: KIND_INSTALL_HINT,
      });
    }
    return v;
  }

  async clusters(): Promise<string[]> {
    const { stdout } = await this.run(["get", "clusters"]);
    return stdout
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith("No kind clusters"));
  }

  /** Creates a cluster; `env` is added to kind's environment (the proxy variables kind passes into the nodes). */
  async create(name: string, configYaml: string, env: Record<string, string> = {}): Promise<void> {
    // Readiness is ours to wait for (through the API, with a message naming the nodes).
    const dir = await mkdtemp(join(tmpdir(), "dify-local-kind-"));
    try {
      const file = join(dir, "kind-config.yaml");
      await writeFile(file, configYaml, { mode: 0o600 });
      await this.run(
        ["create", "cluster", "--name", name, "--config", file],
        Object.keys(env).length ? { env: { ...process.env, ...env } } : {},
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async delete(name: string): Promise<void> {
    await this.run(["delete", "cluster", "--name", name]);
  }

  async kubeconfig(name: string): Promise<string> {
    return (await this.run(["get", "kubeconfig", "--name", name])).stdout;
  }
}
