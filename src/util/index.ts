/** Small helpers every layer shares: one of each, so the logic lives in one place. */
export { pollUntil, sleep } from "./retry.js";
export type { Backoff, PollOptions } from "./retry.js";
export { withTimeout } from "./timeout.js";
export { writeFileAtomic } from "./atomic-write.js";
export type { AtomicWriteOptions } from "./atomic-write.js";
export { deepMerge, isPlainObject } from "./merge.js";
export { yamlError } from "./yaml-error.js";
