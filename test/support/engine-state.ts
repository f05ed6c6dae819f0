import { stringify } from "yaml";
import type { ConfigInput } from "../../src/config/index.js";
import { docker } from "./stack.js";

/** What the engine holds: every container (id, names, image), volume and network, sorted. */
export interface EngineState {
  containers: string[];
  volumes: string[];
  networks: string[];
}

/** The engine's containers, volumes and networks, as its list calls report them. */
export async function engineState(): Promise<EngineState> {
  const [containers, volumes, networks] = await Promise.all([
    docker.listContainers({ all: true }),
    docker.listVolumes(),
    docker.listNetworks(),
  ]);
  return {
    containers: containers.map((c) => `${c.Id} ${c.Names.join(",")} ${c.Image}`).sort(),
    volumes: (volumes.Volumes ?? []).map((v) => v.Name).sort(),
    networks: networks.map((n) => `${n.Id} ${n.Name}`).sort(),
  };
}

/**
 * Removes containers and volumes carrying dify-local's label that are not in `before`: what a
 * refused input would have created had it been accepted. Only a failing test leaves any.
 */
export async function removeCreatedSince(before: EngineState): Promise<void> {
  const known = new Set(before.containers.map((c) => c.split(" ")[0]));
  const containers = await docker.listContainers({ all: true, filters: { label: ["dify-local.managed"] } });
  for (const c of containers.filter((c) => !known.has(c.Id))) await docker.getContainer(c.Id).remove({ force: true, v: true });
  const volumes = await docker.listVolumes({ filters: { label: ["dify-local.managed"] } });
  for (const v of (volumes.Volumes ?? []).filter((v) => !before.volumes.includes(v.Name))) await docker.getVolume(v.Name).remove();
}

/**
 * A bad config snippet made a whole config over `base`, so that a snippet wrongly accepted would
 * use the test's own names, images and ports (never the seed's). A section the snippet opens as a
 * block (`redis:` alone on its line) gets the base's other keys after its own lines; sections it
 * does not mention are appended at the end. `line(n)` maps a line of the snippet to the line of the
 * text written, which moves only when an earlier section was completed.
 */
export function overBase(snippet: string, base: ConfigInput): { text: string; line: (n: number) => number } {
  const sections = base as Record<string, unknown>;
  const lines = snippet.replace(/\n$/, "").split("\n");
  const out: string[] = [];
  const map: number[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < lines.length;) {
    const header = /^([A-Za-z]\w*):\s*$/.exec(lines[i] ?? "")?.[1];
    const top = /^([A-Za-z]\w*):/.exec(lines[i] ?? "")?.[1];
    if (top) seen.add(top);
    map[i + 1] = out.push(lines[i] ?? "");
    i++;
    if (!header || typeof sections[header] !== "object") continue;
    const present = new Set<string>();
    for (; i < lines.length && /^\s/.test(lines[i] ?? ""); i++) {
      const key = /^\s+([A-Za-z]\w*):/.exec(lines[i] ?? "")?.[1];
      if (key) present.add(key);
      map[i + 1] = out.push(lines[i] ?? "");
    }
    for (const [key, value] of Object.entries(sections[header] as Record<string, unknown>)) {
      if (!present.has(key)) out.push(`  ${key}: ${JSON.stringify(value)}`);
    }
  }
  const rest = Object.fromEntries(Object.entries(sections).filter(([key]) => !seen.has(key)));
  const text = `${out.join("\n")}\n${Object.keys(rest).length > 0 ? stringify(rest) : ""}`;
  return { text, line: (n) => map[n] ?? n };
}
