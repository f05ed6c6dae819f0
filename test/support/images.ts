import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { docker } from "./stack.js";

/** How long a build or push of the tests' tiny images may take before it is reported as stuck. */
const STUCK_MS = 120_000;

async function follow(stream: NodeJS.ReadableStream, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const stuck = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
      reject(new Error(`${what}: the engine's progress stream did not end within ${STUCK_MS / 1000} s`));
    }, STUCK_MS);
  });
  const done = new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(stream, (err: Error | null, out: Array<{ error?: string }>) => {
      const failed = out?.find((o) => o.error);
      if (err) reject(err);
      else if (failed?.error) reject(new Error(failed.error));
      else resolve();
    });
  });
  try {
    await Promise.race([done, stuck]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Builds an image through the Engine API (no registry needed): FROM scratch by default, or on top
 * of a local image; `content` becomes /hello.txt (random bytes give it a layer no other image has).
 */
export async function buildTinyImage(tag: string, content: string | Buffer = "hello", from = "scratch"): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "dlt-img-"));
  try {
    await writeFile(join(dir, "Dockerfile"), `FROM ${from}\nCOPY hello.txt /hello.txt\n`);
    await writeFile(join(dir, "hello.txt"), content);
    await follow(await docker.buildImage({ context: dir, src: ["Dockerfile", "hello.txt"] }, { t: tag }), `building ${tag}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Pushes a local image through the engine (as `docker push` does). */
export async function pushImage(tag: string): Promise<void> {
  await follow(await docker.getImage(tag).push({ authconfig: { username: "", password: "", serveraddress: "" } }), `pushing ${tag}`);
}

export async function tagImage(source: string, target: string): Promise<void> {
  const i = target.lastIndexOf(":");
  await docker.getImage(source).tag({ repo: target.slice(0, i), tag: target.slice(i + 1) });
}

/**
 * Removes the tag `ref` and every digest reference of its repository (a pushed or pulled image
 * keeps `repo@sha256:...` after its tag is gone, which left an untagged image behind per run);
 * other tags of the same images stay.
 */
export async function removeImage(ref: string): Promise<void> {
  const repo = ref.slice(0, ref.lastIndexOf(":"));
  const images = await docker.listImages({ all: true, digests: true }).catch(() => []);
  const digests = images.flatMap((i) => (i.RepoDigests ?? []).filter((d) => d.startsWith(`${repo}@`)));
  for (const r of [ref, ...digests])
    await docker
      .getImage(r)
      .remove({ force: true })
      .catch(() => undefined);
}

export async function imageExists(ref: string): Promise<boolean> {
  try {
    await docker.getImage(ref).inspect();
    return true;
  } catch {
    return false;
  }
}
