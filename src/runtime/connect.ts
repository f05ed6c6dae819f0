import { existsSync, readFileSync } from "node:fs";
import type { Agent } from "node:http";
import { homedir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { EnvironmentError, messageOf } from "../errors.js";
import { withTimeout } from "../util/index.js";
import { engineAgent } from "./engine-agent.js";

/** Where a Docker-compatible engine was found, for `doctor` and error messages. */
export interface EngineAddress {
  /** `DOCKER_HOST` as given, or `unix://<socket>` when discovered. */
  address: string;
  /** How it was chosen. */
  via: "DOCKER_HOST" | "discovered";
}

/**
 * The Docker-compatible sockets dify-local looks for when DOCKER_HOST is unset, in order: the
 * system socket, Docker Desktop's per-user socket, Colima, OrbStack, Rancher Desktop, Podman.
 */
export function candidateSockets(home = homedir(), env: NodeJS.ProcessEnv = process.env): string[] {
  const runtimeDir = env.XDG_RUNTIME_DIR;
  return [
    "/var/run/docker.sock",
    join(home, ".docker/run/docker.sock"),
    join(home, ".docker/desktop/docker.sock"),
    join(home, ".colima/default/docker.sock"),
    join(home, ".colima/docker.sock"),
    join(home, ".orbstack/run/docker.sock"),
    join(home, ".rd/docker.sock"),
    ...(runtimeDir ? [join(runtimeDir, "podman/podman.sock"), join(runtimeDir, "docker.sock")] : []),
    "/run/podman/podman.sock",
    join(home, ".local/share/containers/podman/machine/podman.sock"),
    join(home, ".local/share/containers/podman/machine/qemu/podman.sock"),
  ];
}

/** Chooses the engine address: DOCKER_HOST when set (dockerode reads it itself), else the first socket that exists. */
export function resolveEngine(env: NodeJS.ProcessEnv = process.env, exists: (p: string) => boolean = existsSync): EngineAddress {
  if (env.DOCKER_HOST) return { address: env.DOCKER_HOST, via: "DOCKER_HOST" };
  const found = candidateSockets(homedir(), env).find((p) => exists(p));
  return { address: `unix://${found ?? "/var/run/docker.sock"}`, via: "discovered" };
}

export const ENGINE_HINT =
  "Start Docker Desktop (macOS), or on Linux run `sudo systemctl start docker`; with Colima run `colima start`. " +
  "If your engine listens elsewhere, set DOCKER_HOST (for example unix:///path/to/docker.sock).";

/** How long we give an engine to answer a ping before declaring it unreachable. */
const PING_TIMEOUT_MS = 1500;

/** A client of an engine that has answered its ping, and where that engine is. */
export interface Connected {
  docker: Docker;
  engine: EngineAddress;
}

/**
 * A connection to the engine under way, started before the work that needs it: the CLI starts it
 * before it loads the command's code, so the engine's answers overlap that loading.
 */
export interface EngineConnecting {
  /** Settles as {@link connectDocker} does. */
  connected: Promise<Connected>;
  /** The engine's id (`docker info`, "" when it does not tell), asked beside the ping; undefined when not asked. */
  id: Promise<string> | undefined;
}

/**
 * Starts {@link connectDocker}, and with `identify` asks the engine's id beside the ping. Nothing
 * it sends changes anything; its failure shows only where `connected` is awaited.
 */
export function connectEarly(env: NodeJS.ProcessEnv, identify: boolean): EngineConnecting {
  let id: Promise<string> | undefined;
  const connected = connectDocker(env, (docker) => {
    if (identify) id = engineIdOf(docker).catch(() => "");
  });
  connected.catch(() => undefined);
  return { connected, id };
}

/** The engine's id as `docker info` reports it; "" when it does not tell. */
export async function engineIdOf(docker: Docker): Promise<string> {
  const info = (await docker.info()) as { ID?: string };
  return info.ID ?? "";
}

/**
 * Connects to the engine and pings it. Fails within about 1.5 s with {@link EnvironmentError}
 * (exit 3) and a one-sentence hint when nothing answers. `alongside` gets the client before the
 * ping is sent, for a request whose answer is wanted next.
 */
export async function connectDocker(env: NodeJS.ProcessEnv = process.env, alongside?: (docker: Docker) => void): Promise<Connected> {
  const engine = resolveEngine(env);
  let docker: Docker;
  try {
    docker = new Docker(modemOptions(engine.address, env));
  } catch (err) {
    throw new EnvironmentError(`DOCKER_HOST is not a valid engine address (${messageOf(err)})`, { hint: ENGINE_HINT });
  }
  alongside?.(docker);
  try {
    await withTimeout("ping", PING_TIMEOUT_MS, docker.ping());
  } catch (err) {
    throw new EnvironmentError(`No Docker engine is reachable at ${engine.address} (${engine.via}): ${shortReason(err)}.`, {
      hint: ENGINE_HINT,
      cause: err,
    });
  }
  return { docker, engine };
}

/**
 * dockerode options for an engine address, from the given environment rather than process.env
 * (so a library caller's DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH are the ones used).
 */
export function modemOptions(address: string, env: NodeJS.ProcessEnv): Docker.DockerOptions & { agent?: Agent } {
  if (address.startsWith("unix://"))
    return { socketPath: address.slice("unix://".length) || "/var/run/docker.sock", agent: engineAgent("socket") };
  if (address.startsWith("npipe://"))
    return { socketPath: address.slice("npipe://".length) || "//./pipe/docker_engine", agent: engineAgent("socket") };
  const url = new URL(address.includes("://") ? address : `tcp://${address}`);
  if (url.protocol === "ssh:") return { protocol: "ssh", host: url.hostname, port: url.port || 22, username: url.username };
  const tls = env.DOCKER_TLS_VERIFY === "1" || url.port === "2376" || url.protocol === "https:";
  const certs = env.DOCKER_CERT_PATH;
  return {
    protocol: tls ? "https" : "http",
    agent: engineAgent(tls ? "https" : "http"),
    host: url.hostname,
    port: url.port || (tls ? 2376 : 2375),
    ...(certs
      ? { ca: readFileSync(join(certs, "ca.pem")), cert: readFileSync(join(certs, "cert.pem")), key: readFileSync(join(certs, "key.pem")) }
      : {}),
  };
}

function shortReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "the socket does not exist";
  if (code === "ECONNREFUSED") return "connection refused";
  if (code === "EACCES") return "permission denied (add your user to the docker group, or use sudo)";
  return messageOf(err);
}
