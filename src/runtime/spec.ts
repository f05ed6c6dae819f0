import { createHash } from "node:crypto";
import { MASK } from "../util/index.js";

/** Labels dify-local puts on what it creates; the only state it keeps. */
export const LABELS = {
  managed: "dify-local.managed",
  component: "dify-local.component",
  specHash: "dify-local.spec-hash",
  /** A short-lived helper container (a pg_restore into an external server), never a service's. */
  helper: "dify-local.helper",
} as const;

export type RestartPolicy = "no" | "always" | "unless-stopped" | "on-failure";

/** One published port: container port -> host address:port. */
export interface PortBinding {
  containerPort: number;
  hostPort: number;
  hostIp: string;
  /** The config key the host port comes from, for messages ("postgres.port"). */
  key: string;
}

/** A named volume mounted at `target`; with `bind`, the host path `volume` is mounted there instead. */
export interface VolumeMount {
  volume: string;
  target: string;
  bind?: boolean;
  /** Where the files are on the engine's host (from `docker inspect`), when known. */
  source?: string;
}

/** A mount in words: "volume dev-redis-data" or "host path /home/me/data/redis". */
export function describeMount(m: VolumeMount): string {
  return m.bind ? `host path ${m.volume}` : `volume ${m.volume}`;
}

export function sameMount(a: VolumeMount, b: VolumeMount): boolean {
  return a.volume === b.volume && a.target === b.target && !!a.bind === !!b.bind;
}

/** What an existing container has mounted at `target` (a volume or a host path), if anything. */
export function mountAt(c: Pick<ObservedContainer, "mounts">, target: string): VolumeMount | undefined {
  const m = c.mounts.find((x) => x.target === target);
  if (!m) return undefined;
  if (m.type === "bind" && m.source) return { volume: m.source, target, bind: true, source: m.source };
  return m.name ? { volume: m.name, target, ...(m.source ? { source: m.source } : {}) } : undefined;
}

/**
 * A command line by meaning: its positional words in order, and its options as a set of
 * option/value pairs (`--a x --b y` = `--b y --a x`; `--a=x` = `--a x`). An option followed by a
 * word that is not an option takes it as its value.
 */
export function commandMeaning(cmd: readonly string[]): string {
  const positional: string[] = [];
  const options: string[] = [];
  for (let i = 0; i < cmd.length; i++) {
    const arg = cmd[i] ?? "";
    const eq = arg.indexOf("=");
    const next = cmd[i + 1];
    if (!arg.startsWith("-")) positional.push(arg);
    else if (eq > 0) options.push(`${arg.slice(0, eq)}=${arg.slice(eq + 1)}`);
    else if (next !== undefined && !next.startsWith("-")) {
      options.push(`${arg}=${next}`);
      i++;
    } else options.push(arg);
  }
  return JSON.stringify([positional, options.sort()]);
}

/** What a component wants from Docker. Pure data: hashed to detect drift. */
export interface ContainerSpec {
  component: string;
  name: string;
  image: string;
  env: Record<string, string>;
  /** Command arguments after the image's entrypoint; undefined keeps the image's own. */
  cmd?: string[];
  ports: PortBinding[];
  /** The data volume first. */
  volumes: VolumeMount[];
  restart: RestartPolicy;
}

/** A stable hash of everything in the spec that Docker cannot change in place. */
export function specHash(spec: ContainerSpec): string {
  const canonical = {
    name: spec.name,
    image: normalizeImage(spec.image),
    env: Object.entries(spec.env).sort(([a], [b]) => collateName(a, b)),
    cmd: spec.cmd ?? null,
    ports: spec.ports.map((p) => [p.containerPort, p.hostIp, p.hostPort]).sort(),
    volumes: spec.volumes.map((v) => [v.volume, v.target, ...(v.bind ? ["bind"] : [])]).sort(),
    restart: spec.restart,
  };
  return createHash("sha256").update(JSON.stringify(canonical)).digest("hex").slice(0, 16);
}

const RANK = "_0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const PLAIN = /^[A-Z0-9_]*$/;

/**
 * The order `localeCompare` gives (ICU's root collation: punctuation, then digits, then letters),
 * computed without it for names of A-Z, 0-9 and _, which every variable dify-local sets is: its
 * first call loads ICU's collator, about 5 ms of every `up`. The spec hash depends on this order
 * (a different one would make every existing container look changed); other names still go
 * through localeCompare.
 */
export function collateName(a: string, b: string): number {
  if (!PLAIN.test(a) || !PLAIN.test(b)) return a.localeCompare(b);
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const d = RANK.indexOf(a.charAt(i)) - RANK.indexOf(b.charAt(i));
    if (d !== 0) return Math.sign(d);
  }
  return Math.sign(a.length - b.length);
}

/** `registry:2` and `docker.io/library/registry:2` are the same image; so are `x` and `x:latest`. */
export function normalizeImage(ref: string): string {
  let r = ref.trim();
  if (!r.includes("@")) {
    const lastSlash = r.lastIndexOf("/");
    if (!r.slice(lastSlash + 1).includes(":")) r += ":latest";
  }
  const firstSlash = r.indexOf("/");
  const first = firstSlash === -1 ? "" : r.slice(0, firstSlash);
  const hasRegistry = first.includes(".") || first.includes(":") || first === "localhost";
  if (!hasRegistry) r = `docker.io/${firstSlash === -1 ? `library/${r}` : r}`;
  return r.replace(/^docker\.io\/library\//, "").replace(/^docker\.io\//, "");
}

/** The facts of an existing container that a spec is compared with (from `docker inspect`). */
export interface ObservedContainer {
  id: string;
  name: string;
  image: string;
  imageId: string;
  running: boolean;
  state: string;
  startedAt: string;
  labels: Record<string, string>;
  env: Record<string, string>;
  cmd: string[];
  /** containerPort -> bindings */
  ports: Array<{ containerPort: number; hostIp: string; hostPort: number }>;
  mounts: Array<{ type: string; name: string | undefined; source?: string; target: string }>;
  restart: string;
  networks: string[];
}

/**
 * Differences between a spec and a container that was not made from it, in words, by meaning:
 * the image by reference (`redis:7` = `docker.io/library/redis:7`), ports as a set, the
 * environment by key, the command by {@link commandMeaning}. Used to decide whether a container
 * made by hand can be adopted (no differences) and to explain a recreate. A host binding on
 * 0.0.0.0 satisfies a wanted 127.0.0.1 binding: it is wider (see {@link widerBindings}). Where the
 * data lives is compared only when `strict` (a container made by hand keeps its data where it is).
 */
export function specDifferences(
  spec: ContainerSpec,
  c: ObservedContainer,
  options: {
    strict: boolean;
    /** Masks known secrets in text (the command's Redactor); commands are shown through it. */
    mask?: (text: string) => string;
  },
): string[] {
  const diffs: string[] = [];
  if (normalizeImage(spec.image) !== normalizeImage(c.image)) diffs.push(`image is ${c.image}, config wants ${spec.image}`);
  for (const p of spec.ports) {
    const bound = c.ports.filter((b) => b.containerPort === p.containerPort);
    const ok = bound.some(
      (b) => b.hostPort === p.hostPort && (b.hostIp === p.hostIp || (!options.strict && (b.hostIp === "" || b.hostIp === "0.0.0.0"))),
    );
    if (!ok) {
      const have = bound.map((b) => `${b.hostIp || "0.0.0.0"}:${b.hostPort}`).join(", ") || "not published";
      diffs.push(`port ${p.containerPort} is ${have}, config wants ${p.hostIp}:${p.hostPort} (${p.key})`);
    }
  }
  for (const [k, v] of Object.entries(spec.env)) {
    if (c.env[k] !== v) diffs.push(c.env[k] === undefined ? `environment lacks ${k}` : `environment ${k} differs from the config`);
  }
  if (spec.cmd && commandMeaning(spec.cmd) !== commandMeaning(c.cmd)) {
    diffs.push(commandDifference(spec.cmd, c.cmd, options.mask ?? ((t) => t)));
  }
  if (options.strict) {
    for (const v of spec.volumes) {
      const have = mountAt(c, v.target);
      if (!have || !sameMount(have, v)) diffs.push(`${describeMount(v)} is not mounted at ${v.target}`);
    }
    if (c.restart !== spec.restart) diffs.push(`restart policy is ${c.restart || "no"}, config wants ${spec.restart}`);
  }
  return diffs;
}

/** The container's bindings of the spec's ports that reach beyond the wanted address (0.0.0.0 for a wanted 127.0.0.1), in words. */
export function widerBindings(spec: ContainerSpec, c: ObservedContainer): string[] {
  return spec.ports.flatMap((p) =>
    c.ports
      .filter(
        (b) =>
          b.containerPort === p.containerPort &&
          b.hostPort === p.hostPort &&
          b.hostIp !== p.hostIp &&
          (b.hostIp === "" || b.hostIp === "0.0.0.0"),
      )
      .map((b) => `${b.hostIp || "0.0.0.0"}:${b.hostPort}`),
  );
}

/** Options whose value is a secret: `--requirepass X`, `--masterauth=X`, `--api-key X`, `--token X`. */
const SECRET_OPTION = /^--?[\w.-]*(pass|secret|token|key|auth|credential)[\w.-]*$/i;

/** The option an argument names, and its inline value for `--opt=value`. */
function optionOf(arg: string): { name: string; inline: string | undefined } | undefined {
  if (!arg.startsWith("-")) return undefined;
  const eq = arg.indexOf("=");
  return eq === -1 ? { name: arg, inline: undefined } : { name: arg.slice(0, eq), inline: arg.slice(eq + 1) };
}

/** A command line with the values of secret-looking options masked; never printed otherwise. */
export function maskSecretArgs(args: readonly string[]): string[] {
  const out = [...args];
  for (let i = 0; i < out.length; i++) {
    const opt = optionOf(out[i] ?? "");
    if (!opt || !SECRET_OPTION.test(opt.name)) continue;
    if (opt.inline !== undefined) out[i] = `${opt.name}=${MASK}`;
    else if (i + 1 < out.length) out[++i] = MASK;
  }
  return out;
}

/** The value each secret-looking option has in a command line. */
function secretOptionValues(args: readonly string[]): Map<string, string | undefined> {
  const values = new Map<string, string | undefined>();
  for (let i = 0; i < args.length; i++) {
    const opt = optionOf(args[i] ?? "");
    if (!opt || !SECRET_OPTION.test(opt.name)) continue;
    values.set(opt.name, opt.inline ?? args[i + 1]);
    if (opt.inline === undefined) i++;
  }
  return values;
}

/** How a container's command differs from the spec's, in words, with every secret masked. */
function commandDifference(want: readonly string[], have: readonly string[], mask: (text: string) => string): string {
  const shownHave = mask(maskSecretArgs(have).join(" "));
  const shownWant = mask(maskSecretArgs(want).join(" "));
  if (shownHave !== shownWant) return `command is "${shownHave}", config wants "${shownWant}"`;
  const haveValues = secretOptionValues(have);
  const differing = [...secretOptionValues(want)].filter(([name, value]) => haveValues.get(name) !== value).map(([name]) => name);
  return differing.length > 0
    ? `command differs from the config in the value of ${differing.join(", ")} (not shown)`
    : "command differs from the config in a secret value (not shown)";
}
