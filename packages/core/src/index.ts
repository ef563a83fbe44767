export { ValkeyToolsError, CoreError } from './errors.js';
export {
  connect,
  connectionError,
  findSentinelNode,
  tlsConnectionOptions,
  ConnectionError,
} from './connect.js';
export type {
  ConnectOptions,
  SentinelNode,
  ServerConnection,
  TlsFiles,
  ConnectionErrorCode,
} from './connect.js';
export type { ValkeyToolsErrorOptions, CoreErrorCode } from './errors.js';
export {
  parseConnectionUrl,
  formatConnectionUrl,
  normalizeUrl,
  redactUrl,
  registerSecret,
  toClientOptions,
} from './url.js';
export type { ConnectionTarget, ParseUrlOptions, SentinelSpec, UrlScheme } from './url.js';
export { detectPlatform, platformKey, parsePlatformKey, executableName, PLATFORM_KEYS } from './platform.js';
export type { PlatformTarget, PlatformKey, OsPlatform, CpuArch, Libc, DetectOptions } from './platform.js';
export {
  parseServerVersion,
  parseVersionSpec,
  compareVersions,
  versionMatches,
  resolveVersion,
  buildVersionMap,
} from './version.js';
export type { ServerVersion, ServerFlavor, VersionMap } from './version.js';
export { toCygwinPath, fromCygwinPath } from './cygwin.js';
export { valkeyToolsHome, isOfflineEnv } from './paths.js';
export { escapeControl, editDistance, parseInfo, replyFields } from './text.js';
export {
  openAtomicFile,
  writeFileAtomic,
  writeFileAtomicSync,
  writeStreamAtomic,
  cleanLeftovers,
  partialPath,
} from './atomic.js';
export type { AtomicFile, AtomicWriteOptions, LeftoverEvent } from './atomic.js';
