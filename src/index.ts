/**
 * dify-local as a library: every CLI command is a function here, callable in-process.
 *
 * @example
 * import { up, verify } from "dify-local";
 * const result = await up({ config: { postgres: { port: 55433 } } });
 */
export * from "./commands/index.js";
export * from "./config/index.js";
export * from "./errors.js";
export type { Event, EventSink, EventStatus, Plan, PlanItem, Action } from "./engine/index.js";
export { RecordingSink, silentSink } from "./engine/index.js";
export type { Check, Endpoint } from "./services/index.js";
export type { Finding, Severity, DoctorOptions } from "./doctor/index.js";
export { COMPONENTS } from "./services/index.js";
