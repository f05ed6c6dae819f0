export { connectDocker, connectEarly, resolveEngine, candidateSockets, ENGINE_HINT } from "./connect.js";
export type { Connected, EngineAddress, EngineConnecting } from "./connect.js";
export { Runtime, statusOf } from "./runtime.js";
export type { LabelledContainer } from "./runtime.js";
export type { PullProgress, ExecResult, ExecStream, FileListing, HelperSpec, ListLimits } from "./runtime.js";
export type { ListedFile } from "./listers.js";
export {
  LABELS,
  specHash,
  specDifferences,
  normalizeImage,
  commandMeaning,
  describeMount,
  sameMount,
  mountAt,
  widerBindings,
  maskSecretArgs,
} from "./spec.js";
export type { ContainerSpec, ObservedContainer, PortBinding, VolumeMount, RestartPolicy } from "./spec.js";
