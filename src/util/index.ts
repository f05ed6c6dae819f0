/** Small helpers every layer shares: one of each, so the logic lives in one place. */
export { pollUntil, sleep } from "./retry.js";
export type { Backoff, PollOptions } from "./retry.js";
export { withTimeout } from "./timeout.js";
export { writeFileAtomic } from "./atomic-write.js";
export { byteMeter } from "./meter.js";
export { enableGarbageTrim, favourMemory, trimGarbage } from "./memory.js";
export type { AtomicWriteOptions } from "./atomic-write.js";
export { deepMerge, isPlainObject } from "./merge.js";
export { aliasProblem, yamlError, yamlProblem } from "./yaml-error.js";
export type { YamlProblem } from "./yaml-error.js";
export { readInputFile, readTextIfExists, utf8Text } from "./read-file.js";
export type { InputFile } from "./read-file.js";
export { Redactor, MASK } from "./redact.js";
export { addSpan, lazyModule, recordTimings, recordedSpans, timed, timingsOn } from "./timings.js";
export type { Span } from "./timings.js";
export { cacheDir } from "./cache-dir.js";
export { packageVersion } from "./version.js";
