import type * as K8s from "@kubernetes/client-node";

/**
 * @kubernetes/client-node, loaded on first use: it is the heaviest import, and commands without a
 * cluster (or without an engine) never need it. Its one `import()`: the CLI's bundle replaces this
 * module with a load through Node's own loader (scripts/bundle-cli.mjs), since code V8 restores
 * from a code cache cannot run `import()` on Node 20 (and the library is an ES module only).
 */
export function loadK8s(): Promise<typeof K8s> {
  return import("@kubernetes/client-node");
}
