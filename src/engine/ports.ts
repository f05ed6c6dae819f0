import { createServer } from "node:net";
import { readFile, readdir, readlink } from "node:fs/promises";
import type { ObservedContainer, PortBinding, Runtime } from "../runtime/index.js";

/** Whether a wanted host port is free, held by the container meant to hold it, or taken by something else. */
export interface PortState {
  status: "free" | "ours" | "taken";
  /**
   * Who holds it when taken: "container X", "redis-server (pid 42)", the local end of a connection
   * (see {@link connectionHolder}), or "another process".
   */
  holder?: string;
  /** Taken by a connection's local end, not by a listener: the kernel's reserved ports now (see {@link reserveHint}). */
  ephemeral?: { reservedNow: string };
}

/** Looks at one wanted binding; `owner` is the service's own container, whose ports are fine. */
export async function portState(runtime: Runtime, p: PortBinding, owner: ObservedContainer | undefined): Promise<PortState> {
  if (owner?.running && owner.ports.some((b) => b.hostPort === p.hostPort)) return { status: "ours" };
  if (await portFree(p.hostIp, p.hostPort)) return { status: "free" };
  const container = await runtime.publisherOf(p.hostPort);
  if (container) return { status: "taken", holder: `container ${container}` };
  const sockets = await socketsOn(p.hostPort);
  const listening = new Set(sockets.filter((s) => s.state === LISTEN).map((s) => s.inode));
  // A listener, even one whose process this user cannot see, is never taken for a connection's end.
  if (listening.size > 0) return { status: "taken", holder: (await processOf(listening)) ?? "another process" };
  const end = connectionHolder(sockets, p.hostPort, await ephemeralRange());
  return end
    ? { status: "taken", holder: end, ephemeral: { reservedNow: await reservedPorts() } }
    : { status: "taken", holder: "another process" };
}

/**
 * When no one listens on a port that cannot be bound, on Linux: the local end of a connection,
 * which took the port from the kernel's ephemeral range (32768-60999 by default; the seed's 55432
 * lies in it). A closed one holds it in TIME_WAIT for a minute after the close, and binding a
 * listener there fails meanwhile. Undefined when a listener holds the port or no socket does. Pure.
 */
export function connectionHolder(
  sockets: ReadonlyArray<{ state: string }>,
  port: number,
  range: readonly [number, number] | undefined,
): string | undefined {
  if (sockets.length === 0 || sockets.some((s) => s.state === LISTEN)) return undefined;
  const states = new Set(sockets.map((s) => s.state));
  const why =
    range && port >= range[0] && port <= range[1]
      ? `; ${port} is in this machine's ephemeral port range ${range[0]}-${range[1]}, from which outgoing connections take their local ports`
      : "";
  return states.size === 1 && states.has(TIME_WAIT)
    ? `the local end of a closed connection (TIME_WAIT, released by the kernel within a minute${why})`
    : `the local end of an open connection${why ? ` (${why.slice(2)})` : ""}`;
}

/**
 * What to do about ports held by connections' local ends: wait, or reserve them so the kernel
 * lends them to no outgoing connection. `reservedNow` is the kernel's list as it is (the sysctl
 * replaces it, so the command keeps it). Pure.
 */
export function reserveHint(ports: readonly number[], reservedNow = ""): string {
  const value = [reservedNow.trim(), ...[...new Set(ports)].sort((a, b) => a - b)].filter((v) => v !== "").join(",");
  return `try again once the connection has closed (the kernel releases its port within a minute of the close); to keep outgoing connections off ${ports.length > 1 ? "these ports" : "it"} for good: sudo sysctl -w net.ipv4.ip_local_reserved_ports=${value} (and net.ipv4.ip_local_reserved_ports=${value} in a file under /etc/sysctl.d/ to keep it after a restart)`;
}

/** The ports the kernel lends to no outgoing connection ("" when none, or where there is no /proc). */
export async function reservedPorts(): Promise<string> {
  return (await readFile("/proc/sys/net/ipv4/ip_local_reserved_ports", "utf8").catch(() => "")).trim();
}

/** The kernel's range of local ports for outgoing connections, from /proc (undefined elsewhere). */
async function ephemeralRange(): Promise<[number, number] | undefined> {
  const text = await readFile("/proc/sys/net/ipv4/ip_local_port_range", "utf8").catch(() => "");
  const [lo, hi] = text.trim().split(/\s+/).map(Number);
  return lo && hi ? [lo, hi] : undefined;
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
 * Best effort: the process holding one of these socket inodes, from /proc on Linux
 * ("redis-server (pid 42)"). Undefined elsewhere or when it cannot tell (another user's process
 * without root).
 */
async function processOf(inodes: ReadonlySet<string>): Promise<string | undefined> {
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

/** The kernel's TCP states, as /proc/net/tcp writes them. */
const LISTEN = "0A";
const TIME_WAIT = "06";

/** Every TCP socket whose local port is `port`, from /proc/net/tcp and tcp6 (empty where there is no /proc). */
async function socketsOn(port: number): Promise<Array<{ state: string; inode: string }>> {
  const texts = await Promise.all(["/proc/net/tcp", "/proc/net/tcp6"].map((f) => readFile(f, "utf8").catch(() => "")));
  return texts.flatMap((text) => tcpSockets(text, port));
}

/** The sockets of one /proc/net/tcp{,6} table bound to local port `port`. Pure. */
export function tcpSockets(table: string, port: number): Array<{ state: string; inode: string }> {
  const found: Array<{ state: string; inode: string }> = [];
  for (const line of table.split("\n").slice(1)) {
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
    const cols = line.trim().split(/\s+/);
    const [local, state, inode] = [cols[1], cols[3], cols[9]];
    if (local && state && inode !== undefined && Number.parseInt(local.split(":")[1] ?? "", 16) === port) found.push({ state, inode });
  }
  return found;
}
