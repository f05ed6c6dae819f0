import { createServer } from "node:net";
import { readFile, readdir, readlink } from "node:fs/promises";
import type { ObservedContainer, PortBinding, Runtime } from "../runtime/index.js";

/** Whether a wanted host port is free, held by the container meant to hold it, or taken by something else. */
export interface PortState {
  status: "free" | "ours" | "taken";
  /** Who holds it when taken: "container X", "redis-server (pid 42)", or "another process". */
  holder?: string;
}

/** Looks at one wanted binding; `owner` is the service's own container, whose ports are fine. */
export async function portState(runtime: Runtime, p: PortBinding, owner: ObservedContainer | undefined): Promise<PortState> {
  if (owner?.running && owner.ports.some((b) => b.hostPort === p.hostPort)) return { status: "ours" };
  if (await portFree(p.hostIp, p.hostPort)) return { status: "free" };
  const container = await runtime.publisherOf(p.hostPort);
  const holder = container ? `container ${container}` : ((await portHolder(p.hostPort)) ?? "another process");
  return { status: "taken", holder };
}

/** On macOS, AirPlay Receiver listens on 5000: the reason the seed moved the registry to 5050. */
export function airplayNote(port: number, platform: NodeJS.Platform = process.platform): string {
  return port === 5000 && platform === "darwin"
    ? " (on macOS this is usually AirPlay Receiver: System Settings > General > AirDrop & Handoff; the seed uses 5050 for this reason)"
    : "";
}

/** True when nothing holds `host:port` (we can bind it ourselves for a moment). */
export function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * Best effort: the process listening on a TCP port, from /proc on Linux ("redis-server (pid 42)").
 * Undefined elsewhere or when it cannot tell (another user's process without root).
 */
export async function portHolder(port: number): Promise<string | undefined> {
  const inodes = await listeningInodes(port);
  if (inodes.size === 0) return undefined;
  let pids: string[];
  try {
    pids = (await readdir("/proc")).filter((p) => /^\d+$/.test(p));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = await readdir(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => "");
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m?.[1] && inodes.has(m[1])) {
        const comm = (await readFile(`/proc/${pid}/comm`, "utf8").catch(() => "?")).trim();
        return `${comm} (pid ${pid})`;
      }
    }
  }
  return undefined;
}

/** The socket inodes listening on a TCP port, from /proc/net/tcp and tcp6 (empty where there is no /proc). */
async function listeningInodes(port: number): Promise<Set<string>> {
  const inodes = new Set<string>();
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    const text = await readFile(file, "utf8").catch(() => "");
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      const local = cols[1];
      // State 0A is LISTEN.
      if (!local || cols[3] !== "0A") continue;
      if (Number.parseInt(local.split(":")[1] ?? "", 16) === port && cols[9]) inodes.add(cols[9]);
    }
  }
  return inodes;
}
