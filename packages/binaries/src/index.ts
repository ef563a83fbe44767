export { BinariesError } from './errors.js';
export type { BinariesErrorCode } from './errors.js';
export {
  SHIPPED_VERSIONS,
  knownVersions,
  versionMap,
  addKnownVersions,
  resetKnownVersions,
  resolveVersionSpec,
  saveKnownVersions,
} from './version-map.js';
export type { VersionOptions } from './version-map.js';
export { listInstalled, installDir, binRoot } from './cache.js';
export type { InstalledVersion, InstallRecord } from './cache.js';
export { installValkey, uninstallValkey, refreshVersionMap, DEFAULT_RELEASES_URL } from './install.js';
export type { InstallOptions, InstallResult, ArchiveTool } from './install.js';
export { resolveBinary, binaryVersion, usualInstallDirs, PROVIDERS } from './resolve.js';
export type { BinaryName, ProviderName, ResolveOptions, ResolvedBinary, ResolveAttempt } from './resolve.js';
export {
  createMirror,
  parseManifest,
  mergeManifests,
  manifestVersions,
  resolveMirrorUrl,
  ARCHIVE_TOOLS,
} from './mirror.js';
export type {
  CreateMirrorOptions,
  CreateMirrorResult,
  ReleasesManifest,
  ReleaseEntry,
  ReleaseAsset,
} from './mirror.js';
export { downloadFile, fetchText, sha256File, createDispatcher } from './download.js';
export type { DownloadProgress, DownloadResult, HttpOptions, RetryOptions } from './download.js';
export { writeTarGz, extractTarGz, safeEntryPath } from './tar.js';
export type { TarEntry, ExtractLimits, ExtractSummary } from './tar.js';
export { writeZip, extractZip } from './zip.js';
export type { ZipEntry } from './zip.js';
export { acquireLock, withLock } from './lock.js';
export type { Lock, LockHolder, LockOptions } from './lock.js';
export {
  startServer,
  listServers,
  stopServer,
  getServer,
  registryDir,
  isRecordAlive,
  serverCredentials,
} from './server.js';
export type {
  StartServerOptions,
  ServerHandle,
  ServerRecord,
  StopOptions,
  RegistryOptions,
} from './server.js';
export { startCluster, stopCluster, listClusters, CLUSTER_SLOTS } from './cluster.js';
export type { StartClusterOptions, ClusterHandle, ClusterNode, ClusterRecord } from './cluster.js';
export { sendCommand, ReplyError } from './command.js';
export type { Reply, CommandOptions } from './command.js';
