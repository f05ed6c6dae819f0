import type { ObservedContainer } from "../../src/runtime/index.js";

/** A running container as `docker inspect` reports it, named `name`, with the given fields over plain defaults (unit tests). */
export function observedContainer(name: string, over: Partial<ObservedContainer> = {}): ObservedContainer {
  return {
    id: name,
    name,
    image: "x",
    imageId: "sha256:x",
    running: true,
    state: "running",
    startedAt: "",
    labels: {},
    env: {},
    cmd: [],
    ports: [],
    mounts: [],
    restart: "unless-stopped",
    networks: [],
    ...over,
  };
}
