// What most users call first: back up, restore, convert, migrate; then the building blocks.
export { backup } from './live/backup.js';
export type { BackupOptions, BackupResult, BackupProgress } from './live/backup.js';
export { restore } from './restore/restore.js';
export type {
  RestoreOptions,
  RestoreResult,
  RestoreProgress,
  RestoreFailure,
  RestoreNodeResult,
} from './restore/restore.js';
export type { NodeTraffic } from './restore/target.js';
export { convert } from './convert/convert.js';
export type { ConvertOptions, ConvertResult, ConvertProgress } from './convert/convert.js';
export { migrate } from './migrate/migrate.js';
export type { MigrateOptions } from './migrate/migrate.js';
export type * from './model.js';
export {
  BackupError,
  encodeCommand,
  command,
  RespCommandParser,
  parseRespCommands,
  quoteArg,
  formatCommandLine,
  parseCommandLine,
  commandsToReadable,
  readableToCommands,
  recordsToCommands,
  keyRecordToCommands,
  functionRecordToCommand,
  formatScore,
  formatStreamId,
  commandsToResp,
  headerCommand,
  parseHeaderCommand,
  RESP_HEADER_PREFIX,
} from './resp/index.js';
export type {
  BackupErrorCode,
  Command,
  CommandArg,
  ParsedCommand,
  RespParserOptions,
  ParseRespOptions,
  TruncatedTail,
  RecordsToCommandsOptions,
  CommandsToRespOptions,
  RespHeaderInfo,
} from './resp/index.js';
export { RdbError } from './errors.js';
export type { RdbErrorCode, RdbErrorDetails } from './errors.js';
export { readRdb, readRdbFile, valueSize } from './rdb/reader.js';
export type {
  ByteInput,
  ChunkedOptions,
  ReadRdbOptions,
  RdbWarning,
  RdbWarningCode,
  KeyBeginRecord,
  KeyPartRecord,
  KeyEndRecord,
  RdbChunkRecord,
} from './rdb/reader.js';
export { crc64, Crc64 } from './rdb/crc64.js';
export { lzfCompress, lzfDecompress } from './rdb/lzf.js';
export { bytesToText, displayBytes } from './rdb/text.js';
export { RdbType, RdbOpcode, decodeModuleId } from './rdb/constants.js';
export {
  writeRdb,
  writeRdbFile,
  createRdbWriteStream,
  ValueEncoder,
  DEFAULT_ENCODING_LIMITS,
} from './rdb/writer.js';
export type { RdbTarget, EncodingLimits, EncodeOptions, WriteRdbOptions } from './rdb/writer.js';
export { syncRdb } from './live/replication.js';
export type { ReplicationSyncOptions } from './live/replication.js';
export { scanServer } from './live/scan.js';
export type { DumpedKey, DumpedFunction, ScanOptions } from './live/scan.js';
export { commandsToItems, recordsToItems } from './io/items.js';
export type { RestoreItem } from './io/items.js';
export { readAof } from './aof/read-aof.js';
export type { AofSegment, ReadAofOptions } from './aof/read-aof.js';
export { parseAofManifest, aofLoadOrder } from './aof/manifest.js';
export type { AofManifestEntry } from './aof/manifest.js';
export { keySlot, crc16 } from './cluster/slot.js';
export { globMatch, compileFilter, dumpPayloadType } from './io/filter.js';
export type { KeyFilter } from './io/filter.js';
export { formatFromPath } from './io/formats.js';
export type { InputFormat, OutputFormat } from './io/formats.js';
export { openInput } from './io/input.js';
export type { InputSegment, OpenInputOptions } from './io/input.js';
export { writeFileAtomically } from './io/atomic.js';
export { encodeDumpPayload, decodeDumpPayload, checkDumpPayload } from './rdb/dump.js';
export type { EncodeDumpOptions, DumpPayload, CheckDumpPayloadOptions } from './rdb/dump.js';
export { decodeValue, readRdbWithOffsets } from './rdb/reader.js';
export type { RecordWithOffset } from './rdb/reader.js';
export { verifyRdb, inspectRdb } from './rdb/inspect.js';
export type {
  RdbSource,
  VerifyResult,
  InspectOptions,
  InspectReport,
  BigKey,
  DbSummary,
  RdbWarningInfo,
} from './rdb/inspect.js';
export { recordsToJsonl, jsonlToRecords, keyRecordToJson, bytesToJson } from './jsonl/jsonl.js';
export type { RecordsToJsonlOptions } from './jsonl/jsonl.js';
export { estimateKeyMemory, KeyMemoryEstimator } from './memory/estimate.js';
export type { KeyMemory, MemoryEncoding, EstimateOptions, KeyMeta, StreamMeta } from './memory/estimate.js';
export { DEFAULT_MEMORY_MODEL_CONFIG } from './memory/config.js';
export type { MemoryModelConfig } from './memory/config.js';
export { analyzeMemory, estimateRecords, MemoryAnalyzer } from './memory/analyze.js';
export type {
  AnalyzeMemoryOptions,
  EstimateRecordsOptions,
  MemoryReport,
  MemoryRow,
  MemoryTotals,
  MemoryProgress,
  MemoryGroup,
  ExpiryBucket,
  AnyRecord,
} from './memory/analyze.js';
export { analyzeRdbFile, analyzeServerMemory } from './memory/sources.js';
export type { AnalyzeRdbOptions, AnalyzeServerOptions } from './memory/sources.js';
export { memoryReportToHtml } from './memory/html.js';
export type { MemoryHtmlOptions } from './memory/html.js';
export { memoryRowsToCsv, keyMemoryToCsvLine, MEMORY_CSV_HEADER } from './memory/csv.js';
export { jemallocSize } from './memory/jemalloc.js';
export type { PrefixNode } from './memory/prefix-tree.js';
export { MemoryError } from './errors.js';
export type { MemoryErrorCode } from './errors.js';
export { commandsToRecords } from './io/commands-to-records.js';
export type { CommandsToRecordsOptions } from './io/commands-to-records.js';
export { dumpVersionFor } from './io/connect.js';
export type { RdbReadProgress } from './rdb/reader.js';
export { parseRespCommandBatches } from './resp/parser.js';
export { ChunkedKeyCommands } from './resp/records-to-commands.js';
export { flattenBatches } from './io/input.js';
export { commandBatchesToItems, ItemGrouper } from './io/items.js';
