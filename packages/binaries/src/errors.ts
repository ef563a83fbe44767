import { ValkeyToolsError } from '@valkey-tools/core';

export type BinariesErrorCode =
  /** No provider found the binary asked for (details.tried lists what was looked at). */
  | 'ERR_BINARY_NOT_FOUND'
  /** A binary was found but `--version` failed or reported the wrong version/flavor. */
  | 'ERR_BINARY_INVALID'
  /** The version asked for is not known (not in the version map nor in the manifest). */
  | 'ERR_UNKNOWN_VERSION'
  /** The mirror / release site has no build for this platform. */
  | 'ERR_NO_BUILD_FOR_PLATFORM'
  /** Offline mode is on and the binary is not on this machine. */
  | 'ERR_OFFLINE'
  /** HTTP failure after all retries (status, network error or timeout). */
  | 'ERR_DOWNLOAD_FAILED'
  /** The downloaded archive's sha256 (or size) differs from the published one. */
  | 'ERR_CHECKSUM_MISMATCH'
  /** releases.json (or a .sha256 file) is malformed. */
  | 'ERR_BAD_MANIFEST'
  /** The archive is corrupt or holds an unsafe entry (traversal, absolute path, escaping link, too big). */
  | 'ERR_UNSAFE_ARCHIVE'
  | 'ERR_BAD_ARCHIVE'
  /** Could not take the install lock in time. */
  | 'ERR_LOCK_TIMEOUT'
  /** A server failed to start, or did not answer in time. */
  | 'ERR_SERVER_START'
  /** A graceful stop failed (e.g. SHUTDOWN SAVE refused); the server is still running. */
  | 'ERR_SERVER_STOP'
  /** No free port found in the range tried. */
  | 'ERR_PORT_UNAVAILABLE'
  /** No managed server / cluster with that name. */
  | 'ERR_SERVER_NOT_FOUND'
  /** A managed server name is already in use by a live server. */
  | 'ERR_SERVER_EXISTS'
  /** The cluster did not reach cluster_state:ok in time, or a cluster command failed. */
  | 'ERR_CLUSTER'
  /** Bad option values. */
  | 'ERR_INVALID_OPTION';

/** Errors raised by @valkey-tools/binaries. */
export class BinariesError extends ValkeyToolsError<BinariesErrorCode> {
  static override readonly errorName = 'BinariesError';
}
