/**
 * The RDB header (`REDIS0011`, `VALKEY080`): one parse for the record reader and the window walker.
 */
import { KNOWN_REDIS_VERSION } from './constants.js';
import { cAtoi } from './numbers.js';

/** Bytes in the header: a 5- or 6-letter magic and the version digits. */
export const RDB_HEADER_BYTES = 9;

export interface RdbHeader {
  magic: 'REDIS' | 'VALKEY';
  /** The digits as the server reads them (atoi): "REDIS001b" is 1, "REDIS00x1" is 0. */
  version: number;
  flavor: 'redis' | 'valkey';
  /** A version this library knows (REDIS0001..KNOWN_REDIS_VERSION, VALKEY080/081). */
  known: boolean;
}

/**
 * Parses the 9 header bytes given as latin1 text; null when the signature is neither REDIS nor
 * VALKEY. The version may be below 1 (the caller refuses it).
 */
export function parseRdbHeader(head: string): RdbHeader | null {
  let magic: 'REDIS' | 'VALKEY';
  let digits: string;
  if (head.startsWith('REDIS')) {
    magic = 'REDIS';
    digits = head.slice(5);
  } else if (head.startsWith('VALKEY')) {
    magic = 'VALKEY';
    digits = head.slice(6);
  } else return null;
  const version = cAtoi(digits);
  const known =
    magic === 'REDIS' ? version >= 1 && version <= KNOWN_REDIS_VERSION : version === 80 || version === 81;
  return { magic, version, flavor: magic === 'VALKEY' ? 'valkey' : 'redis', known };
}
