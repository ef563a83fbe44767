// @valkey-tools/backup/codec: the building blocks under the main entry, for tools that work with
// the formats at a lower level. Everything users need for backup, restore, convert and inspection
// is in `@valkey-tools/backup`; these names may change between minor versions.

// RDB
export { readRdbWithOffsets, decodeValue, valueSize } from './rdb/reader.js';
export type { RecordWithOffset } from './rdb/reader.js';
export { ValueEncoder, DEFAULT_ENCODING_LIMITS } from './rdb/writer.js';
export type { EncodeOptions } from './rdb/writer.js';
export { RdbType, RdbOpcode, decodeModuleId } from './rdb/constants.js';
export { crc64, Crc64 } from './rdb/crc64.js';
export { lzfCompress, lzfDecompress } from './rdb/lzf.js';
export { encodeDumpPayload, decodeDumpPayload, checkDumpPayload, splitDumpPayload } from './rdb/dump.js';
export type { EncodeDumpOptions, DumpPayload, CheckDumpPayloadOptions } from './rdb/dump.js';

// RESP text and the readable form
export { encodeCommand } from './resp/encode.js';
export { RespCommandParser, parseRespCommandBatches } from './resp/parser.js';
export type { RespParserOptions } from './resp/parser.js';
export { quoteArg, formatCommandLine, parseCommandLine } from './resp/readable.js';
export {
  keyRecordToCommands,
  functionRecordToCommand,
  formatScore,
  formatStreamId,
  ChunkedKeyCommands,
} from './resp/records-to-commands.js';
export { headerCommand, parseHeaderCommand, RESP_HEADER_PREFIX } from './resp/writer.js';

// JSONL, AOF, cluster
export { keyRecordToJson, bytesToJson } from './jsonl/jsonl.js';
export { parseAofManifest, aofLoadOrder } from './aof/manifest.js';
export type { AofManifestEntry } from './aof/manifest.js';
export { crc16 } from './cluster/slot.js';

// Inputs, filters, restore items
export { openInput, flattenBatches } from './io/input.js';
export type { InputSegment, OpenInputOptions } from './io/input.js';
export { globMatch, compileFilter, dumpPayloadType } from './io/filter.js';
export { writeFileAtomically } from './io/atomic.js';
export { commandsToItems, recordsToItems, commandBatchesToItems, ItemGrouper } from './io/items.js';
export type { RestoreItem } from './io/items.js';
export { dumpVersionFor } from './io/connect.js';

// Live servers
export { syncRdb } from './live/replication.js';
export type { ReplicationSyncOptions } from './live/replication.js';
export { scanServer } from './live/scan.js';
export type { DumpedKey, DumpedFunction, ScanOptions } from './live/scan.js';

// The memory model
export { estimateKeyMemory, KeyMemoryEstimator } from './memory/estimate.js';
export type { KeyMemory, MemoryEncoding, EstimateOptions, KeyMeta, StreamMeta } from './memory/estimate.js';
export { DEFAULT_MEMORY_MODEL_CONFIG } from './memory/config.js';
export type { MemoryModelConfig } from './memory/config.js';
export { analyzeMemory, estimateRecords, MemoryAnalyzer } from './memory/analyze.js';
export type { EstimateRecordsOptions, AnyRecord } from './memory/analyze.js';
export { keyMemoryToCsvLine, MEMORY_CSV_HEADER } from './memory/csv.js';
export { jemallocSize } from './memory/jemalloc.js';
export type { PrefixNode } from './memory/prefix-tree.js';
