/**
 * The server settings that decide how a loaded key is encoded in memory. Defaults are valkey-server
 * 8.0's built-in defaults; pass the values from `CONFIG GET` when the server was tuned.
 */
export interface MemoryModelConfig {
  hashMaxListpackEntries: number;
  hashMaxListpackValue: number;
  setMaxIntsetEntries: number;
  setMaxListpackEntries: number;
  setMaxListpackValue: number;
  zsetMaxListpackEntries: number;
  zsetMaxListpackValue: number;
  /** `list-max-listpack-size`: negative = node size limit class (-2 = 8 KiB), positive = entries per node. */
  listMaxListpackSize: number;
  streamNodeMaxBytes: number;
  streamNodeMaxEntries: number;
}

export const DEFAULT_MEMORY_MODEL_CONFIG: Readonly<MemoryModelConfig> = Object.freeze({
  hashMaxListpackEntries: 512,
  hashMaxListpackValue: 64,
  setMaxIntsetEntries: 512,
  setMaxListpackEntries: 128,
  setMaxListpackValue: 64,
  zsetMaxListpackEntries: 128,
  zsetMaxListpackValue: 64,
  listMaxListpackSize: -2,
  streamNodeMaxBytes: 4096,
  streamNodeMaxEntries: 100,
});

/** Byte limit of one quicklist node for a `list-max-listpack-size` setting (positive: the 8 KiB safety limit). */
export function quicklistNodeByteLimit(fill: number): number {
  if (fill >= 0) return 8192;
  const level = Math.min(Math.max(-fill, 1), 5);
  return 4096 * 2 ** (level - 1);
}
