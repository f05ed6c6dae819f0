import { redacting } from "../stack/index.js";
import { doctor as doctorCommand } from "./doctor.js";
import { down as downCommand } from "./down.js";
import { info as infoCommand } from "./info.js";
import { registryList as registryListCommand } from "./registry.js";
import {
  snapshotCreate as snapshotCreateCommand,
  snapshotRestore as snapshotRestoreCommand,
  snapshotRestorePlan as snapshotRestorePlanCommand,
  snapshotVerify as snapshotVerifyCommand,
} from "./snapshot.js";
import { status as statusCommand } from "./status.js";
import {
  storageCopy as storageCopyCommand,
  storageGet as storageGetCommand,
  storageList as storageListCommand,
  storageObjects as storageObjectsCommand,
} from "./storage.js";
import { up as upCommand } from "./up.js";
import { values as valuesCommand } from "./values.js";
import { verify as verifyCommand } from "./verify.js";

// Every command that opens the stack runs through its redaction point: events and errors carry
// no secret (see `redacting`). `hosts` knows no secret.
export const up = redacting(upCommand);
export { parsePull } from "../engine/index.js";
export type { UpOptions, UpResult } from "./up.js";
export const down = redacting(downCommand);
export type { DownOptions, DownResult } from "./down.js";
export const status = redacting(statusCommand);
export type { StatusResult, ServiceStatus } from "./status.js";
export const verify = redacting(verifyCommand);
export type { VerifyOptions, VerifyResult } from "./verify.js";
export const info = redacting(infoCommand);
export { MASK } from "./info.js";
export type { InfoOptions, ServiceInfo } from "./info.js";
export const registryList = redacting(registryListCommand);
export type { RegistryRepository } from "./registry.js";
export const doctor = redacting(doctorCommand);
export type { DoctorResult } from "./doctor.js";
export const storageList = redacting(storageListCommand);
export const storageObjects = redacting(storageObjectsCommand);
export const storageCopy = redacting(storageCopyCommand);
export const storageGet = redacting(storageGetCommand);
export type {
  StorageObject,
  StorageListOptions,
  StorageListResult,
  StorageCopyOptions,
  StorageCopyResult,
  StorageGetOptions,
  StorageGetFileResult,
  StorageObjects,
  StorageReadResult,
} from "./storage.js";
export { hosts, hostsLine, HOSTS_BEGIN, HOSTS_END } from "./hosts.js";
export type { HostsOptions, HostsResult } from "./hosts.js";
export const values = redacting(valuesCommand);
export type { ValuesOptions, ValuesResult } from "./values.js";
export const snapshotCreate = redacting(snapshotCreateCommand);
export const snapshotRestore = redacting(snapshotRestoreCommand);
export const snapshotRestorePlan = redacting(snapshotRestorePlanCommand);
export const snapshotVerify = redacting(snapshotVerifyCommand);
export { snapshotList, snapshotRemove, formatBytes } from "./snapshot.js";
export type {
  SnapshotCreateOptions,
  SnapshotCreateResult,
  SnapshotDirOptions,
  SnapshotListEntry,
  SnapshotListResult,
  SnapshotNameOptions,
  SnapshotPart,
  SnapshotRestoreOptions,
  SnapshotRestorePlan,
  SnapshotRestoreResult,
  SnapshotVerifyOptions,
  SnapshotVerifyResult,
} from "./snapshot.js";
