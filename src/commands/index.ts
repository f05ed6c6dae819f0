export { up, parsePull } from "./up.js";
export type { UpOptions, UpResult } from "./up.js";
export { down } from "./down.js";
export type { DownOptions, DownResult } from "./down.js";
export { status } from "./status.js";
export type { StatusResult, ServiceStatus } from "./status.js";
export { verify } from "./verify.js";
export type { VerifyResult } from "./verify.js";
export { info, MASK } from "./info.js";
export type { InfoOptions, ServiceInfo } from "./info.js";
export { registryList } from "./registry.js";
export type { RegistryRepository } from "./registry.js";
export { doctor } from "./doctor.js";
export type { DoctorResult } from "./doctor.js";
export { storageList, storageCopy, storageGet } from "./storage.js";
export type {
  StorageObject,
  StorageListOptions,
  StorageListResult,
  StorageCopyOptions,
  StorageCopyResult,
  StorageGetOptions,
  StorageGetFileResult,
} from "./storage.js";
export { hosts, hostsLine, HOSTS_BEGIN, HOSTS_END } from "./hosts.js";
export type { HostsOptions, HostsResult } from "./hosts.js";
export { values } from "./values.js";
export type { ValuesOptions, ValuesResult } from "./values.js";
