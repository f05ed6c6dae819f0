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
export type { Event, EventSink, EventStatus, Plan, PlanItem, Action, Check, Finding, Severity } from "./engine/index.js";
export { RecordingSink, silentSink, check, FatalProbeError } from "./engine/index.js";
export type { DoctorOptions } from "./doctor/index.js";
export { resolveConfig, Stack } from "./stack/index.js";
export { Redactor } from "./util/index.js";
export type { StackOptions, StackOptions as CommandOptions } from "./stack/index.js";
export {
  defineService,
  serviceSchema,
  SERVICES,
  BUILTIN_SERVICES,
  CLUSTER_HOST,
  PROBE_TIMEOUT_MS,
  port,
  secret,
  asSecret,
  dockerName,
  image,
  withExternal,
  hostname,
  isExternal,
} from "./services/index.js";
export type {
  Service,
  ServiceDefinition,
  ServiceContext,
  ServiceSettings,
  Endpoint,
  Credential,
  FactSource,
  ExternalFacts,
  ExternalMode,
  ExternalTarget,
  ServiceName,
  SnapshotCapability,
  SnapshotReader,
  SnapshotWriter,
} from "./services/index.js";
export type { KindRunner } from "./cluster/index.js";
export type { ValuesTree, EnvSection, ChartVersion } from "./helm/index.js";
