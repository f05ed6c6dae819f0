/** The stack every command opens (config, engine, sink, shared observations) and the work commands share. */
export { Stack, resolveConfig, engineKey } from "./context.js";
export type { StackOptions, ResolvedConfig, ExclusiveOptions } from "./context.js";
export { acquireLock, lockDir, lockPath, StackLock } from "./lock.js";
export type { LockHolder, LockRequest } from "./lock.js";
export { VolumeRecord, stateDir, dataLostMessage } from "./volumes.js";
export type { VolumeEntry } from "./volumes.js";
export { runChecks, reportChecks, serviceChecksOn } from "./verify.js";
export { renderValues, serviceValues, renderStackEnv, credentialSources, valuesWarnings } from "./values.js";
export type { LiveStack } from "./values.js";
export { learnSecrets, redacting } from "./redaction.js";
export {
  chooseCredentials,
  credentialsFile,
  loadOrCreateCredentials,
  randomCredential,
  readCredentials,
  secretFields,
  CREDENTIALS_DIR,
} from "./credentials.js";
export type { CredentialsChoice, CredentialsMode, GeneratedCredentials, LoadedCredentials } from "./credentials.js";
export {
  SNAPSHOT_FORMAT,
  MANIFEST,
  SnapshotDraft,
  userDataDir,
  snapshotsDir,
  checkSnapshotName,
  timestampName,
  incompatibility,
  artefactPath,
  artefactProblem,
  readManifest,
  allArtefacts,
  snapshotSize,
  checkArtefacts,
  listSnapshots,
  snapshotFolder,
  snapshotReader,
  configDigest,
} from "./snapshots.js";
export type { Artefact, ArtefactProblem, ReadManifest, SnapshotEntry, SnapshotManifest } from "./snapshots.js";
export { keyPairFacts, keyPairFactsOf, keyPairFindings, keysMatch, privateKeyObject, DIFY_DATABASE } from "./keypairs.js";
export type { KeyPairFacts, TenantKey } from "./keypairs.js";
export { clusterTargets, introduceExisting } from "./existing.js";
