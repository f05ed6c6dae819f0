import type Docker from "dockerode";
import { PassThrough, Transform, type Readable, type TransformCallback } from "node:stream";
import { OperationError, messageOf } from "../errors.js";
import { engineIdOf } from "./connect.js";
import { pollUntil } from "../util/index.js";
import { findLister, lsLister, ListingRefused, type InContainerLister, type ListedFile } from "./listers.js";
import { LABELS, specHash, type ContainerSpec, type ObservedContainer } from "./spec.js";

/** Bytes done of total for one image pull, summed over its layers. */
export interface PullProgress {
  current: number;
  total: number;
}

/** What `listFiles` found; `complete` is false when it stopped at a limit. */
export interface FileListing {
  files: ListedFile[];
  complete: boolean;
  /** How it listed: `ls` or `find` inside the container, or the archive API's tar headers. */
  via: "ls" | "find" | "archive";
}

/** Bounds for listing a container's files. */
export interface ListLimits {
  /** Stop after this many files (default 200,000). */
  maxFiles?: number;
  /** Stop after this long (default 10 s). */
  timeoutMs?: number;
  /** File names (last component, plain names: no patterns) left out of the listing, and not counted. */
  exclude?: readonly string[];
}

/** Where a listing stops. */
interface ListBound {
  maxFiles: number;
  /** Date.now() at which it stops. */
  deadline: number;
}

/** A command running in a container with its stdout streamed: see {@link Runtime.execStream}. */
export interface ExecStream {
  stdout: Readable;
  done: Promise<{ exitCode: number; stderr: string }>;
}

/** A short-lived helper container: see {@link Runtime.runOnce}. */
export interface HelperSpec {
  name: string;
  image: string;
  /** The command, run as the container's entrypoint (the image's own entrypoint is not used). */
  cmd: string[];
  env?: Record<string, string>;
  /** Its `dify-local.helper` label ("pg-restore"), so a leftover can be found. */
  purpose: string;
  /** "host" (the engine's own network stack) or "bridge" (the engine's default network). */
  network: "host" | "bridge";
  /** Host files mounted read-only (a CA certificate). */
  readOnlyFiles?: ReadonlyArray<{ source: string; target: string }>;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * The Docker Engine API as dify-local uses it: a thin, typed layer over dockerode. Everything
 * that talks to the engine goes through here, so tests and the doctor see one surface.
 */
export class Runtime {
  constructor(private readonly docker: Docker) {}

  /** Resolves when the engine answers a ping. */
  async ping(): Promise<void> {
    await this.docker.ping();
  }

  /**
   * The engine's own id (`docker info`'s ID), the same whatever address reaches it (a socket, a
   * symlink to it, a proxy); empty when the engine reports none.
   */
  engineId(): Promise<string> {
    return engineIdOf(this.docker);
  }

  /** The engine's version, as `docker version` reports it. */
  async version(): Promise<string> {
    return (await this.docker.version()).Version;
  }

  /** The name of a running container that publishes `hostPort`, if any (to name who holds a port). */
  async publisherOf(hostPort: number): Promise<string | undefined> {
    const running = await this.docker.listContainers();
    const c = running.find((r) => r.Ports.some((p) => p.PublicPort === hostPort));
    return c?.Names[0]?.replace(/^\//, "");
  }

  /**
   * The containers (running or not) with the given names, inspected: one list call, then one
   * inspect per hit. Names, not labels, select them, so several stacks with their own names can
   * share an engine without touching each other.
   */
  async observe(names: readonly string[]): Promise<Map<string, ObservedContainer>> {
    const list = await this.docker.listContainers({ all: true });
    const wanted = new Set(names);
    const hits = list.filter((c) => c.Names.some((n) => wanted.has(n.replace(/^\//, ""))));
    const inspected = await Promise.all(hits.map((c) => this.inspect(c.Id)));
    const out = new Map<string, ObservedContainer>();
    for (const c of inspected) {
      // Being removed (by a command that was stopped half-way, or by hand): as good as gone.
      if (c?.state === "removing") await this.waitGone(c.id);
      else if (c) out.set(c.name, c);
    }
    return out;
  }

  /** Returns once a container the engine is removing is gone (its removal takes as long as its volumes' unmount). */
  private async waitGone(id: string): Promise<void> {
    await pollUntil(async () => ((await this.inspect(id)) ? undefined : true), {
      timeoutMs: 60_000,
      onTimeout: () =>
        new OperationError(`container ${id.slice(0, 12)} is still being removed after 60s`, { hint: `docker rm -f ${id.slice(0, 12)}` }),
    });
  }

  /** Inspects one container by id or name; undefined when it does not exist. */
  async inspect(idOrName: string): Promise<ObservedContainer | undefined> {
    let info: Docker.ContainerInspectInfo;
    try {
      info = await this.docker.getContainer(idOrName).inspect();
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
    return observedFrom(info);
  }

  /** The image's id when present locally. */
  async imageId(ref: string): Promise<string | undefined> {
    try {
      const info = await this.docker.getImage(ref).inspect();
      return info.Id;
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  /**
   * Pulls an image through the Engine API, reporting summed layer bytes. The error names the
   * image and carries the registry's own words (unreachable, not found, unauthorised).
   */
  async pull(ref: string, onProgress: (p: PullProgress) => void, signal?: AbortSignal): Promise<void> {
    const layers = new Map<string, PullProgress>();
    try {
      const stream = await this.docker.pull(ref, signal ? { abortSignal: signal } : {});
      await new Promise<void>((resolve, reject) => {
        this.docker.modem.followProgress(
          stream,
          (err: Error | null, output: Array<{ error?: string }>) => {
            const failed = output?.find((o) => o.error);
            if (err) reject(err);
            else if (failed?.error) reject(new Error(failed.error));
            else resolve();
          },
          (event: { id?: string; status?: string; progressDetail?: { current?: number; total?: number }; error?: string }) => {
            if (!event.id || !event.progressDetail?.total) return;
            if (event.status === "Downloading") {
              layers.set(event.id, { current: event.progressDetail.current ?? 0, total: event.progressDetail.total });
              let current = 0;
              let total = 0;
              for (const l of layers.values()) {
                current += l.current;
                total += l.total;
              }
              onProgress({ current, total });
            }
          },
        );
      });
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      throw new OperationError(`pulling image ${ref} failed: ${registryReason(err)}`, {
        hint: `check the image reference in the config and that its registry is reachable (docker pull ${ref})`,
        cause: err,
      });
    }
  }

  /**
   * Creates the named volume when missing. With `device`, it is a binding of that host path (the
   * local driver's `type=none,o=bind`): data carried over from a container made by hand stays in
   * its files, and deleting the volume later leaves those files alone.
   */
  async ensureVolume(name: string, component: string, device?: string): Promise<"created" | "exists"> {
    if ((await this.volume(name)) !== undefined) return "exists";
    await this.docker.createVolume({
      Name: name,
      Labels: { [LABELS.managed]: "true", [LABELS.component]: component },
      ...(device ? { Driver: "local", DriverOpts: { type: "none", o: "bind", device } } : {}),
    });
    return "created";
  }

  /** A volume's labels and, for a binding of a host path, that path; undefined when it does not exist. */
  async volume(name: string): Promise<{ labels: Record<string, string>; device: string | undefined } | undefined> {
    try {
      const info = (await this.docker.getVolume(name).inspect()) as {
        Labels?: Record<string, string> | null;
        Options?: Record<string, string> | null;
      };
      return { labels: info.Labels ?? {}, device: info.Options?.o === "bind" ? info.Options.device : undefined };
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  /** Those of `names` that exist, whoever made them. */
  async existingVolumes(names: readonly string[]): Promise<Set<string>> {
    const res = await this.docker.listVolumes();
    const wanted = new Set(names);
    return new Set((res.Volumes ?? []).map((v) => v.Name).filter((n) => wanted.has(n)));
  }

  /** Those of `names` that exist and carry our label (volumes made by hand are never ours to delete). */
  async managedVolumes(names: readonly string[]): Promise<string[]> {
    const res = await this.docker.listVolumes({ filters: JSON.stringify({ label: [`${LABELS.managed}=true`] }) });
    const wanted = new Set(names);
    return (res.Volumes ?? []).map((v) => v.Name).filter((n) => wanted.has(n));
  }

  /** Those of `names` that exist without our label: made by hand, so never ours to delete. */
  async foreignVolumes(names: readonly string[]): Promise<string[]> {
    const res = await this.docker.listVolumes();
    const wanted = new Set(names);
    return (res.Volumes ?? []).filter((v) => wanted.has(v.Name) && v.Labels?.[LABELS.managed] !== "true").map((v) => v.Name);
  }

  async removeVolume(name: string): Promise<boolean> {
    try {
      await this.docker.getVolume(name).remove();
      return true;
    } catch (err) {
      if (statusOf(err) === 404) return false;
      throw err;
    }
  }

  /** Creates (not starts) a container from a spec, labelled with its hash. */
  async create(spec: ContainerSpec): Promise<string> {
    const exposed: Record<string, object> = {};
    const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
    for (const p of spec.ports) {
      const key = `${p.containerPort}/tcp`;
      exposed[key] = {};
      (bindings[key] ??= []).push({ HostIp: p.hostIp, HostPort: String(p.hostPort) });
    }
    const container = await this.docker.createContainer({
      name: spec.name,
      Image: spec.image,
      Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
      ...(spec.cmd ? { Cmd: spec.cmd } : {}),
      ExposedPorts: exposed,
      Labels: {
        [LABELS.managed]: "true",
        [LABELS.component]: spec.component,
        [LABELS.specHash]: specHash(spec),
      },
      HostConfig: {
        PortBindings: bindings,
        Mounts: spec.volumes.map((v) => ({ Type: v.bind ? ("bind" as const) : ("volume" as const), Source: v.volume, Target: v.target })),
        RestartPolicy: { Name: spec.restart },
      },
    });
    return container.id;
  }

  async start(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).start();
    } catch (err) {
      // 304: already started; fine for an idempotent start.
      if (statusOf(err) !== 304) throw err;
    }
  }

  async stop(id: string, timeoutSeconds = 10): Promise<void> {
    try {
      await this.docker.getContainer(id).stop({ t: timeoutSeconds });
    } catch (err) {
      if (statusOf(err) !== 304 && statusOf(err) !== 404) throw err;
    }
  }

  /** Removes a container; never its volumes (named volumes are data). */
  async remove(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).remove({ force: true, v: false });
    } catch (err) {
      if (statusOf(err) === 404) return;
      // 409 "removal ... already in progress": someone else removes it; done once it is gone.
      if (statusOf(err) === 409 && /already in progress/.test(messageOf(err))) await this.waitGone(id);
      else throw err;
    }
  }

  /**
   * Calls `onOutput` each time the container prints something (its log from now on), until the
   * returned function is called. Where the logs cannot be followed (a logging driver the engine
   * cannot read back), it is simply never called: callers use it as a hint, never as the answer.
   */
  followLogs(id: string, onOutput: () => void): () => void {
    let stream: Readable | undefined;
    let stopped = false;
    this.docker
      .getContainer(id)
      .logs({ follow: true, stdout: true, stderr: true, tail: 0 })
      .then((s) => {
        stream = s as Readable;
        stream.on("error", () => undefined);
        if (stopped) stream.destroy();
        else stream.on("data", onOutput);
      })
      .catch(() => undefined);
    return () => {
      stopped = true;
      stream?.destroy();
    };
  }

  /** The last lines of a container's log, for error messages. */
  async logTail(id: string, lines = 20): Promise<string> {
    try {
      const buf = await this.docker.getContainer(id).logs({ stdout: true, stderr: true, tail: lines, follow: false });
      return demux(buf).trim();
    } catch {
      return "";
    }
  }

  /** Containers (any state) carrying `key=value`. */
  async listByLabel(key: string, value: string): Promise<LabelledContainer[]> {
    const list = await this.docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${key}=${value}`] }) });
    return list.map((c) => ({
      id: c.Id,
      name: (c.Names[0] ?? "").replace(/^\//, ""),
      running: c.State === "running",
      labels: c.Labels ?? {},
    }));
  }

  /**
   * Reads one file from a container through the archive API (no exec, so reading what is already
   * right leaves no trace in the container). Undefined when the file does not exist.
   */
  async readFile(id: string, path: string): Promise<string | undefined> {
    let content: string | undefined;
    const found = await this.walkArchive(id, path, true, (name, type, body) => {
      if (content === undefined && type === "file") content = body?.toString("utf8");
    });
    return found ? content : undefined;
  }

  /**
   * The files under a directory of a container (paths relative to it): names only, never
   * contents, so the cost does not grow with the data. Asks `ls -R` inside the container (names
   * without sizes); on an image without GNU ls, `find` (names and sizes); without either, reads
   * the archive API's tar headers and discards the bodies, which the engine still sends. Stops
   * early, with `complete: false`, at `maxFiles` entries or after `timeoutMs`. Undefined when the
   * directory does not exist.
   */
  async listFiles(id: string, dir: string, limits: ListLimits = {}): Promise<FileListing | undefined> {
    const exclude = limits.exclude ?? [];
    const bound = { maxFiles: limits.maxFiles ?? 200_000, deadline: Date.now() + (limits.timeoutMs ?? 10_000) };
    for (const lister of [lsLister(dir, exclude), findLister(dir, exclude)]) {
      const listing = await this.listWith(id, lister, bound);
      if (listing !== undefined) return listing;
    }
    const files: ListedFile[] = [];
    let complete = true;
    const found = await this.walkArchive(id, dir, false, (name, type, _body, size) => {
      // The archive's first component is the directory's own name.
      if (type === "file" && !exclude.includes(name.slice(name.lastIndexOf("/") + 1)))
        files.push({ path: name.split("/").slice(1).join("/"), size });
      if (files.length < bound.maxFiles && Date.now() < bound.deadline) return true;
      complete = false;
      return false;
    });
    return found ? { files, complete, via: "archive" } : undefined;
  }

  /** One of the in-container listers of listers.ts; undefined when it cannot list DIR here. */
  private async listWith(id: string, lister: InContainerLister, bound: ListBound): Promise<FileListing | undefined> {
    const listed = await this.streamListing(id, lister.cmd, lister.env, bound, lister.read);
    if (!listed) return undefined;
    const { files, exitCode, stopped } = listed;
    if (stopped) return { files, complete: false, via: lister.via };
    const complete = lister.completeness(exitCode, files.length);
    return complete === undefined ? undefined : { files, complete, via: lister.via };
  }

  /**
   * Runs a listing command in the container and reads its stdout as it comes through `read`
   * (called once more with `end` when it ends), stopping at the bound. `stopped` says it did:
   * the command may still be walking, and its exit code says nothing. Undefined when `read`
   * refused the output ({@link ListingRefused}).
   */
  private async streamListing(
    id: string,
    cmd: string[],
    env: Record<string, string> | undefined,
    bound: ListBound,
    read: (chunk: Buffer, end: boolean) => ListedFile[],
  ): Promise<{ files: ListedFile[]; stopped: boolean; exitCode: number } | undefined> {
    const { stdout, done } = await this.execStream(id, cmd, env ? { env } : {});
    const files: ListedFile[] = [];
    const outcome = await new Promise<"stopped" | "ended" | "refused">((resolve) => {
      let settled = false;
      const finish = (how: "stopped" | "ended" | "refused"): void => {
        settled = true;
        clearTimeout(timer);
        if (how !== "ended") stdout.destroy();
        resolve(how);
      };
      const timer = setTimeout(() => finish("stopped"), Math.max(0, bound.deadline - Date.now()));
      const take = (chunk: Buffer, end: boolean): boolean => {
        try {
          for (const file of read(chunk, end)) {
            files.push(file);
            if (files.length >= bound.maxFiles) {
              finish("stopped");
              return false;
            }
          }
          return true;
        } catch (err) {
          if (!(err instanceof ListingRefused)) throw err;
          finish("refused");
          return false;
        }
      };
      stdout.on("data", (chunk: Buffer) => void (settled || take(chunk, false)));
      const ended = (): void => {
        if (!settled && take(Buffer.alloc(0), true)) finish("ended");
      };
      stdout.once("end", ended);
      stdout.once("error", ended);
      stdout.once("close", ended);
    });
    if (outcome === "refused") return undefined;
    if (outcome === "stopped") return { files, stopped: true, exitCode: -1 };
    const { exitCode } = await done.catch(() => ({ exitCode: -1 }));
    return { files, stopped: false, exitCode };
  }

  /**
   * Streams `GET /containers/{id}/archive` through a tar reader; false when the path does not
   * exist. `visit` returning false stops the walk (the rest of the archive is not read).
   */
  private async walkArchive(
    id: string,
    path: string,
    withBodies: boolean,
    visit: (name: string, type: string | null | undefined, body: Buffer | undefined, size: number) => boolean | void,
  ): Promise<boolean> {
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.docker.getContainer(id).getArchive({ path });
    } catch (err) {
      if (statusOf(err) === 404) return false;
      throw err;
    }
    // Loaded on first use: only the commands that read files out of containers need it. Through
    // `default` (module.exports), as the bundled CLI gives a CommonJS library's chunk only that.
    const { extract } = (await import("tar-stream")).default;
    await new Promise<void>((resolve, reject) => {
      const tar = extract();
      tar.on("entry", (header, entry, next) => {
        const chunks: Buffer[] = [];
        if (withBodies) entry.on("data", (c: unknown) => chunks.push(Buffer.from(c as Uint8Array)));
        entry.on("end", () => {
          if (visit(header.name, header.type, withBodies ? Buffer.concat(chunks) : undefined, header.size ?? 0) === false) {
            (stream as NodeJS.ReadableStream & { destroy(): void }).destroy();
            tar.destroy();
            resolve();
            return;
          }
          next();
        });
        entry.resume();
      });
      tar.on("finish", () => resolve());
      tar.on("error", reject);
      stream.pipe(tar);
    });
    return true;
  }

  /** Writes a file inside a running container through exec (creating its directory). */
  async writeFile(id: string, path: string, content: string): Promise<void> {
    const res = await this.exec(id, ["sh", "-c", 'mkdir -p "$(dirname "$1")" && cat > "$1"', "sh", path], { stdin: content });
    if (res.exitCode !== 0)
      throw new OperationError(`writing ${path} in container ${id.slice(0, 12)} failed: ${res.stderr.trim() || `exit ${res.exitCode}`}`);
  }

  /** The IPv4 gateway of a Docker network, or undefined when the network does not exist. */
  async networkGateway(name: string): Promise<string | undefined> {
    try {
      const info = (await this.docker.getNetwork(name).inspect()) as { IPAM?: { Config?: Array<{ Gateway?: string; Subnet?: string }> } };
      return info.IPAM?.Config?.map((c) => c.Gateway).find((g): g is string => !!g && g.includes("."));
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  /** The IPv4 subnet of a Docker network (CIDR), or undefined when it does not exist. */
  async networkSubnet(name: string): Promise<string | undefined> {
    try {
      const info = (await this.docker.getNetwork(name).inspect()) as { IPAM?: { Config?: Array<{ Subnet?: string }> } };
      return info.IPAM?.Config?.map((c) => c.Subnet).find((s): s is string => !!s && s.includes("."));
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  /** Creates a bridge network when missing (kind uses an existing network of its name as is). */
  async ensureNetwork(name: string): Promise<"created" | "exists"> {
    if ((await this.networkGateway(name)) !== undefined) return "exists";
    try {
      await this.docker.createNetwork({
        Name: name,
        Driver: "bridge",
        CheckDuplicate: true,
        Labels: { [LABELS.managed]: "true" },
        Options: { "com.docker.network.driver.mtu": "1500" },
      });
    } catch (err) {
      if (statusOf(err) !== 409) throw err;
    }
    return "created";
  }

  /** Removes a network dify-local created, once nothing is attached to it; returns whether it did. */
  async removeNetworkIfOurs(name: string): Promise<boolean> {
    let info: { Labels?: Record<string, string>; Containers?: Record<string, unknown> };
    try {
      info = await this.docker.getNetwork(name).inspect();
    } catch (err) {
      if (statusOf(err) === 404) return false;
      throw err;
    }
    if (info.Labels?.[LABELS.managed] !== "true" || Object.keys(info.Containers ?? {}).length > 0) return false;
    await this.docker.getNetwork(name).remove();
    return true;
  }

  /** Connects a container to a network unless it already is. Returns whether it changed anything. */
  async connectNetwork(network: string, containerId: string): Promise<boolean> {
    const c = await this.inspect(containerId);
    if (c?.networks.includes(network)) return false;
    await this.docker.getNetwork(network).connect({ Container: containerId });
    return true;
  }

  /** Docker Desktop resolves host.docker.internal for containers and pods by itself. */
  async isDockerDesktop(): Promise<boolean> {
    const info = (await this.docker.info()) as { OperatingSystem?: string; Name?: string };
    return /Docker Desktop/i.test(info.OperatingSystem ?? "") || info.Name === "docker-desktop";
  }

  /**
   * Runs a command inside a running container with its stdout as a stream (read at the reader's
   * pace, so a dump of any size passes through bounded memory) and, optionally, `stdin` streamed in.
   * `done` resolves once the command has ended, with its exit code and the tail of its stderr;
   * the caller must consume `stdout` (or resume it) for the command to finish.
   */
  async execStream(
    id: string,
    cmd: string[],
    options: { stdin?: Readable; user?: string; env?: Record<string, string> } = {},
  ): Promise<ExecStream> {
    const exec = await this.docker.getContainer(id).exec({
      Cmd: cmd,
      AttachStdout: true,
      AttachStderr: true,
      AttachStdin: options.stdin !== undefined,
      ...(options.user ? { User: options.user } : {}),
      ...(options.env ? { Env: Object.entries(options.env).map(([k, v]) => `${k}=${v}`) } : {}),
    });
    const stream = await exec.start({ hijack: true, stdin: options.stdin !== undefined });
    const demux = new DockerDemux();
    stream.on("error", (err: Error) => demux.destroy(err));
    stream.pipe(demux);
    options.stdin?.on("error", (err) => demux.destroy(err));
    options.stdin?.pipe(stream);
    const ended = new Promise<void>((resolve, reject) => {
      demux.on("end", resolve);
      demux.on("close", resolve);
      demux.on("error", reject);
    });
    const done = ended.then(async () => {
      // The stream ends a moment before the engine records the exit code: asked again after
      // 5 ms, then less and less often (a first wait of 100 ms was most of a short exec's time).
      const exitCode = await pollUntil(
        async () => {
          const info = await exec.inspect();
          return info.Running ? undefined : (info.ExitCode ?? -1);
        },
        {
          timeoutMs: 30_000,
          initialMs: 5,
          factor: 2,
          maxMs: 500,
          onTimeout: () => new OperationError(`${cmd[0] ?? "exec"} in ${id.slice(0, 12)} did not end`),
        },
      );
      return { exitCode, stderr: demux.stderrTail() };
    });
    // A caller that fails before awaiting `done` must not leave an unhandled rejection behind.
    done.catch(() => undefined);
    return { stdout: demux, done };
  }

  /**
   * Runs `cmd` once in a new, short-lived container of `image` (no ports, no volumes, labelled
   * `dify-local.helper`), with `stdin` streamed in and stdout streamed out, like {@link execStream}.
   * The container's main process reads the attached stdin, and the engine removes the container
   * when it exits (AutoRemove): if this process dies mid-way, its connection closes, the command
   * sees the end of its input and ends, and the container goes too. `remove` is still called on
   * every way out (a container that never started is not auto-removed).
   */
  async runOnce(spec: HelperSpec, stdin: Readable): Promise<ExecStream> {
    const container = await this.docker.createContainer({
      name: spec.name,
      Image: spec.image,
      Entrypoint: spec.cmd,
      Cmd: [],
      Env: Object.entries(spec.env ?? {}).map(([k, v]) => `${k}=${v}`),
      Labels: { [LABELS.helper]: spec.purpose },
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      OpenStdin: true,
      StdinOnce: true,
      Tty: false,
      HostConfig: {
        AutoRemove: true,
        NetworkMode: spec.network,
        Binds: (spec.readOnlyFiles ?? []).map((f) => `${f.source}:${f.target}:ro`),
      },
    });
    const removeIt = (): Promise<void> => this.remove(container.id).catch(() => undefined);
    try {
      const stream = await container.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true });
      // Asked before the start, so the exit code is caught before AutoRemove takes the container away.
      const exited = container.wait({ condition: "next-exit" }) as Promise<{ StatusCode?: number }>;
      exited.catch(() => undefined);
      await container.start();
      const demux = new DockerDemux();
      stream.on("error", (err: Error) => demux.destroy(err));
      stream.pipe(demux);
      stdin.on("error", (err) => demux.destroy(err));
      stdin.pipe(stream);
      const ended = new Promise<void>((resolve, reject) => {
        demux.on("end", resolve);
        demux.on("close", resolve);
        demux.on("error", reject);
      });
      // The engine keeps reading the attached input after the command ended early (a refused login), so its exit code and stderr are what is reported.
      const done = ended.then(async () => ({ exitCode: (await exited).StatusCode ?? -1, stderr: demux.stderrTail() })).finally(removeIt);
      done.catch(() => undefined);
      return { stdout: demux, done };
    } catch (err) {
      await removeIt();
      throw err;
    }
  }

  /** The containers labelled as helpers for `purpose` (see {@link runOnce}), running or not. */
  async helpers(purpose: string): Promise<string[]> {
    const list = await this.docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${LABELS.helper}=${purpose}`] }) });
    return list.map((c) => c.Id);
  }

  /** A path of a container as a tar stream (the archive API; works on a stopped container). */
  async archiveOut(id: string, path: string): Promise<NodeJS.ReadableStream> {
    return this.docker.getContainer(id).getArchive({ path });
  }

  /** Extracts a tar stream into a directory of a container (the archive API; works on a stopped container). */
  async archiveIn(id: string, dir: string, tar: Readable): Promise<void> {
    await this.docker.getContainer(id).putArchive(tar, { path: dir });
  }

  /** Runs a command inside a running container and collects its output. */
  async exec(id: string, cmd: string[], options: { stdin?: string; user?: string } = {}): Promise<ExecResult> {
    const container = this.docker.getContainer(id);
    const exec = await container.exec({
      Cmd: cmd,
      AttachStdout: true,
      AttachStderr: true,
      AttachStdin: options.stdin !== undefined,
      ...(options.user ? { User: options.user } : {}),
    });
    const stream = await exec.start({ hijack: true, stdin: options.stdin !== undefined });
    const out = new PassThrough();
    const err = new PassThrough();
    const chunks = { out: [] as Buffer[], err: [] as Buffer[] };
    out.on("data", (c: Buffer) => chunks.out.push(c));
    err.on("data", (c: Buffer) => chunks.err.push(c));
    this.docker.modem.demuxStream(stream, out, err);
    if (options.stdin !== undefined) stream.end(options.stdin);
    await new Promise<void>((resolve, reject) => {
      stream.on("end", () => resolve());
      stream.on("close", () => resolve());
      stream.on("error", reject);
    });
    const info = await exec.inspect();
    return {
      exitCode: info.ExitCode ?? -1,
      stdout: Buffer.concat(chunks.out).toString("utf8"),
      stderr: Buffer.concat(chunks.err).toString("utf8"),
    };
  }
}

/** What dify-local compares and reports of a container, from `docker inspect`. */
function observedFrom(info: Docker.ContainerInspectInfo): ObservedContainer {
  const cmd = info.Config.Cmd;
  return {
    id: info.Id,
    name: info.Name.replace(/^\//, ""),
    image: info.Config.Image,
    imageId: info.Image,
    running: info.State.Running,
    state: info.State.Restarting ? "restarting" : info.State.Status,
    startedAt: info.State.StartedAt,
    labels: info.Config.Labels ?? {},
    env: envOf(info.Config.Env ?? []),
    cmd: Array.isArray(cmd) ? cmd : typeof cmd === "string" ? [cmd] : [],
    ports: portsOf(info.HostConfig.PortBindings),
    mounts: (info.Mounts ?? []).map((m) => ({ type: m.Type, name: m.Name, source: m.Source, target: m.Destination })),
    restart: info.HostConfig.RestartPolicy?.Name ?? "",
    networks: Object.keys(info.NetworkSettings?.Networks ?? {}),
  };
}

/** `KEY=value` lines as a map. */
function envOf(lines: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const kv of lines) {
    const i = kv.indexOf("=");
    if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return env;
}

/** `HostConfig.PortBindings` ({"6379/tcp": [{HostIp, HostPort}]}) as a list. */
function portsOf(bindings: unknown): ObservedContainer["ports"] {
  const ports: ObservedContainer["ports"] = [];
  const byPort = (bindings ?? {}) as Record<string, Array<{ HostIp?: string; HostPort?: string }> | null>;
  for (const [key, list] of Object.entries(byPort)) {
    const containerPort = Number.parseInt(key, 10);
    for (const b of list ?? []) ports.push({ containerPort, hostIp: b.HostIp ?? "", hostPort: Number.parseInt(b.HostPort ?? "0", 10) });
  }
  return ports;
}

/** A container found by label (kind's nodes). */
export interface LabelledContainer {
  id: string;
  name: string;
  running: boolean;
  labels: Record<string, string>;
}

/** The HTTP status of a dockerode error, if any. */
export function statusOf(err: unknown): number | undefined {
  const s = (err as { statusCode?: unknown }).statusCode;
  return typeof s === "number" ? s : undefined;
}

function registryReason(err: unknown): string {
  const raw = (err as { json?: { message?: string } }).json?.message ?? messageOf(err);
  const msg = raw.replace(/^\(HTTP code \d+\) [a-z ]+ - /, "").trim();
  if (/unauthorized|authentication required|denied/i.test(msg)) return `unauthorised: ${msg}`;
  if (/not found|manifest unknown|does not exist/i.test(msg)) return `not found: ${msg}`;
  if (/connection refused|no such host|timeout|i\/o timeout|dial tcp|network is unreachable|server gave HTTP response/i.test(msg)) {
    return `registry unreachable: ${msg}`;
  }
  return msg;
}

/** Docker multiplexes stdout/stderr in an 8-byte-framed stream when there is no TTY. */
function demux(buf: Buffer): string {
  if (!Buffer.isBuffer(buf)) return String(buf);
  const parts: string[] = [];
  let i = 0;
  while (i + 8 <= buf.length) {
    const size = buf.readUInt32BE(i + 4);
    parts.push(buf.subarray(i + 8, i + 8 + size).toString("utf8"));
    i += 8 + size;
  }
  return i === 0 ? buf.toString("utf8") : parts.join("");
}

/** The most stderr an exec keeps (its tail): enough for an error message, bounded whatever the command prints. */
const STDERR_TAIL = 16 * 1024;

/**
 * Docker's multiplexed exec stream (an 8-byte header per frame: stream type, length) as stdout
 * alone, with backpressure: dockerode's demuxStream writes on regardless of a slow reader, which
 * would buffer a whole dump in memory. Stderr is kept as a bounded tail.
 */
class DockerDemux extends Transform {
  private pending: Buffer = Buffer.alloc(0);
  private frame: { type: number; left: number } | undefined;
  private stderr = "";

  stderrTail(): string {
    return this.stderr;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    let data = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = Buffer.alloc(0);
    while (data.length > 0) {
      if (!this.frame) {
        if (data.length < 8) {
          this.pending = data;
          break;
        }
        this.frame = { type: data.readUInt8(0), left: data.readUInt32BE(4) };
        data = data.subarray(8);
        continue;
      }
      const take = Math.min(this.frame.left, data.length);
      const part = data.subarray(0, take);
      if (this.frame.type === 1) this.push(part);
      else if (this.frame.type === 2) this.stderr = (this.stderr + part.toString("utf8")).slice(-STDERR_TAIL);
      this.frame.left -= take;
      data = data.subarray(take);
      if (this.frame.left === 0) this.frame = undefined;
    }
    callback();
  }
}
