import { ConflictError, OperationError, messageOf } from "../errors.js";
import type { ContainerSpec, ObservedContainer, PortBinding, Runtime } from "../runtime/index.js";
import { Nudge, pollUntil } from "../util/index.js";
import { step, type EventSink } from "./events.js";
import type { PlanItem } from "./plan.js";
import { isChange } from "./plan.js";
import { airplayNote, portState, reserveHint } from "./ports.js";

/**
 * Before anything changes: every host port a changing container will publish must be free, or
 * held by that very container; so must the `extra` ports something else will publish (the kind
 * cluster's, when kind is about to create it). Throws one {@link ConflictError} naming every
 * blocked port.
 */
export async function checkPorts(
  runtime: Runtime,
  items: readonly PlanItem[],
  extra: ReadonlyArray<{ port: PortBinding; for: string }> = [],
): Promise<void> {
  const problems: string[] = [];
  const lent: number[] = [];
  let reservedNow = "";
  const wanted = [
    ...extra.map(({ port, for: user }) => ({ port, user, observed: undefined })),
    ...items
      .filter((item) => isChange(item.action))
      .flatMap((item) => item.spec.ports.map((port) => ({ port, user: item.container, observed: item.observed }))),
  ];
  for (const { port: p, user, observed } of wanted) {
    const state = await portState(runtime, p, observed);
    if (state.status !== "taken") continue;
    problems.push(`${p.hostIp}:${p.hostPort} (${p.key}, for ${user}) is in use by ${state.holder}${airplayNote(p.hostPort)}`);
    if (state.ephemeral) {
      lent.push(p.hostPort);
      reservedNow = state.ephemeral.reservedNow;
    }
  }
  if (problems.length > 0) {
    const others = lent.length < problems.length;
    const ways = [
      ...(others ? ["stop what holds the port, or choose another port in dify-local.yaml (for example `postgres: { port: 55433 }`)"] : []),
      ...(lent.length > 0 ? [`${others ? "for a connection's port, " : ""}${reserveHint(lent, reservedNow)}`] : []),
      "nothing was changed",
    ];
    throw new ConflictError(`port${problems.length > 1 ? "s" : ""} already in use:\n  ${problems.join("\n  ")}`, { hint: ways.join("; ") });
  }
}

/**
 * Pulls the images changing containers need (or all, with `always`), concurrently, before anything
 * else changes. Returns the id of each image it pulled, by reference.
 */
export async function pullImages(
  runtime: Runtime,
  sink: EventSink,
  specs: readonly ContainerSpec[],
  mode: "missing" | "always",
  signal?: AbortSignal,
): Promise<Map<string, string>> {
  const refs = [...new Set(specs.map((s) => s.image))];
  const pulled = new Map<string, string>();
  const results = await Promise.allSettled(
    refs.map(async (ref) => {
      const name = `image ${ref}`;
      signal?.throwIfAborted();
      if (mode === "missing" && (await runtime.imageId(ref))) {
        sink.emit({ step: name, status: "skip", detail: "present" });
        return;
      }
      await step(
        sink,
        name,
        async () => {
          await runtime.pull(ref, (progress) => sink.emit({ step: name, status: "progress", progress }), signal);
        },
        () => "pulled",
      );
      const id = await runtime.imageId(ref);
      if (id) pulled.set(ref, id);
    }),
  );
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === "rejected").map((r) => r.reason as unknown);
  signal?.throwIfAborted();
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) {
    throw new OperationError(`${failures.length} images could not be pulled:\n  ${failures.map(messageOf).join("\n  ")}`, {
      hint: "check the image references in the config and that their registries are reachable; nothing was changed",
    });
  }
  return pulled;
}

/** Makes Docker match one plan item; returns the container id. */
export async function applyItem(runtime: Runtime, item: PlanItem): Promise<string> {
  const { spec, observed } = item;
  switch (item.action) {
    case "keep":
    case "adopt":
    case "conflict":
      if (!observed) throw new Error(`internal: ${item.action} without a container`);
      return observed.id;
    case "start":
      if (!observed) throw new Error("internal: start without a container");
      await runtime.start(observed.id);
      return observed.id;
    case "recreate":
      if (observed) await runtime.remove(observed.id);
      return createAndStart(runtime, spec, item.carry?.device);
    case "create":
      return createAndStart(runtime, spec);
  }
}

/** Creates the data volume (a binding of `carry` when data is carried over) and the container, and starts it. */
async function createAndStart(runtime: Runtime, spec: ContainerSpec, carry?: string): Promise<string> {
  const [data, ...rest] = spec.volumes;
  if (data) await runtime.ensureVolume(data.volume, spec.component, carry);
  for (const v of rest) await runtime.ensureVolume(v.volume, spec.component);
  const id = await runtime.create(spec);
  await runtime.start(id);
  return id;
}

/**
 * Before anything changes: data carried over on a recreate goes into the config's volume as a
 * binding of the old files, which needs that volume name free (or already that binding).
 * Throws one {@link ConflictError} naming each volume in the way.
 */
export async function checkCarriedData(runtime: Runtime, items: readonly PlanItem[]): Promise<void> {
  const problems: string[] = [];
  for (const item of items) {
    const volume = item.spec.volumes[0]?.volume;
    if (!item.carry || !volume) continue;
    const existing = await runtime.volume(volume);
    if (existing && existing.device !== item.carry.device) {
      problems.push(
        `${item.container} keeps its data in ${item.carry.from}, but volume ${volume} exists already (${existing.device ? `bound to ${existing.device}` : "with its own data"})`,
      );
    }
  }
  if (problems.length > 0) {
    throw new ConflictError(`the data of the containers to recreate cannot be carried over:\n  ${problems.join("\n  ")}`, {
      hint: "set the service's volume in dify-local.yaml to a name not in use, or remove the unused volume (docker volume rm NAME) after checking it holds nothing you need; nothing was changed",
    });
  }
}

/**
 * A probe failure that waiting will not cure (a wrong password on an initialised volume): the
 * readiness loop stops at once and reports it, with its fix.
 */
export class FatalProbeError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = "FatalProbeError";
  }
}

/** What {@link waitReady} waits on: a title for messages and one readiness attempt. */
export interface Readiness {
  title: string;
  /** One protocol round trip against the running container; throws while not ready. */
  probe(container: ObservedContainer): Promise<void>;
}

/** Readiness attempts every 50 ms at first, then at most every 250 ms. */
export const READY_POLL = { initialMs: 50, factor: 1.5, maxMs: 250 } as const;

/**
 * Waits for a service's protocol probe to succeed, with backoff from a short first interval and
 * no fixed sleeps. Fails early, with the container's last log lines, when the container stops;
 * stops between attempts when `signal` is aborted. `observed`: the container as this command
 * inspected it moments ago and left untouched (a converged stack); the first attempt probes it
 * without asking the engine again, and every later attempt asks.
 */
export async function waitReady(
  runtime: Runtime,
  target: Readiness,
  containerId: string,
  timeoutSeconds: number,
  signal?: AbortSignal,
  observed?: ObservedContainer,
): Promise<ObservedContainer> {
  let lastError = "";
  let name = containerId.slice(0, 12);
  // What a service prints as it starts ("ready to accept connections") is the cue to ask again at
  // once, rather than at the next attempt of the backoff (up to 250 ms later): the answer still
  // comes from the protocol probe, never from the log's wording. Followed from the first attempt
  // that fails, so a service that answers at once (a converged stack) costs no log stream.
  const nudge = new Nudge();
  let unfollow: (() => void) | undefined;
  let fresh = observed?.id === containerId && observed.running ? observed : undefined;
  try {
    return await pollUntil(
      async () => {
        const live = fresh ?? (await runtime.inspect(containerId));
        fresh = undefined;
        if (!live) throw new OperationError(`${target.title}: container ${name} disappeared while starting`);
        name = live.name;
        if (!live.running || live.state === "restarting") {
          const logs = await runtime.logTail(containerId);
          throw new OperationError(
            `${target.title}: container ${live.name} is ${live.state}${logs ? `; last log lines:\n${indent(logs)}` : ""}`,
            {
              hint: `docker logs ${live.name}`,
            },
          );
        }
        try {
          await target.probe(live);
          return live;
        } catch (err) {
          if (err instanceof FatalProbeError) throw new OperationError(err.message, { hint: err.hint });
          lastError = messageOf(err);
          unfollow ??= runtime.followLogs(containerId, () => nudge.poke());
          return undefined;
        }
      },
      {
        // Asked often, so readiness is noticed soon after it happens (a probe is one round trip).
        ...READY_POLL,
        timeoutMs: timeoutSeconds * 1000,
        signal,
        nudge,
        onTimeout: async () => {
          const logs = await runtime.logTail(containerId);
          return new OperationError(
            `${target.title} did not answer within ${timeoutSeconds}s: ${lastError}${logs ? `\nlast log lines of ${name}:\n${indent(logs)}` : ""}`,
            { hint: `docker logs ${name}; raise readyTimeout in the config if the machine is slow` },
          );
        },
      },
    );
  } finally {
    unfollow?.();
  }
}

function indent(text: string): string {
  return text
    .split("\n")
    .slice(-10)
    .map((l) => `    ${l}`)
    .join("\n");
}
