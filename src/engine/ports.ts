import { createServer } from "node:net";
import { readFile, readdir, readlink } from "node:fs/promises";

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
  const inodes = new Set<string>();
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      const local = cols[1];
      // State 0A is LISTEN.
      if (!local || cols[3] !== "0A") continue;
      if (Number.parseInt(local.split(":")[1] ?? "", 16) === port && cols[9]) inodes.add(cols[9]);
    }
  }
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
