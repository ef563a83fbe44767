import { DEFAULT_ENCODING_LIMITS, type EncodingLimits } from '../rdb/writer.js';

/**
 * The server settings that decide how a loaded key is encoded in memory: the same thresholds the
 * RDB writer uses to pick compact encodings (valkey-server 8.0's defaults; pass the values from
 * `CONFIG GET` when the server was tuned).
 */
export type MemoryModelConfig = EncodingLimits;

export const DEFAULT_MEMORY_MODEL_CONFIG: Readonly<MemoryModelConfig> = DEFAULT_ENCODING_LIMITS;

/** Byte limit of one quicklist node for a `list-max-listpack-size` setting (positive: the 8 KiB safety limit). */
export function quicklistNodeByteLimit(fill: number): number {
  if (fill >= 0) return 8192;
  const level = Math.min(Math.max(-fill, 1), 5);
  return 4096 * 2 ** (level - 1);
}
