// @valkey-tools/backup: what users call. The codec building blocks (RESP parser classes, LZF,
// CRC-64, DUMP payloads, value encoders, memory model internals) are in `@valkey-tools/backup/codec`.

// Back up, restore, convert, migrate
export { backup, nodeFilePath } from './live/backup.js';
export type { BackupOptions, BackupResult, BackupProgress } from './live/backup.js';
export { restore } from './restore/restore.js';
export type {
  RestoreOptions,
  RestoreResult,
  RestoreProgress,
  RestoreFailure,
  RestoreNodeResult,
} from './restore/restore.js';
export type { NodeTraffic } from './io/pipeline.js';
export { convert } from './convert/convert.js';
export type { ConvertOptions, ConvertResult, ConvertProgress } from './convert/convert.js';
export { migrate } from './migrate/migrate.js';
export type { MigrateOptions, MigrateResult } from './migrate/migrate.js';
export type { FollowProgress, FollowReport } from './migrate/follow.js';
export type { Failover } from './io/connect.js';
export { formatFromPath } from './io/formats.js';
export type { InputFormat, OutputFormat } from './io/formats.js';
export type { KeyFilter } from './io/filter.js';

// Check and look inside files
export { verifyRdb } from './rdb/inspect.js';
export { inspectRdb } from './rdb/summary.js';
export type { RdbSource, VerifyResult, RdbWarningInfo } from './rdb/inspect.js';
export type { InspectOptions, InspectReport, BigKey, DbSummary } from './rdb/summary.js';
export { analyzeRdbFile, analyzeServerMemory } from './memory/sources.js';
export type { AnalyzeRdbOptions, AnalyzeServerOptions } from './memory/sources.js';
export type {
  MemoryReport,
  MemoryRow,
  MemoryTotals,
  MemoryProgress,
  MemoryGroup,
  ExpiryBucket,
  AnalyzeMemoryOptions,
} from './memory/analyze.js';
export { memoryReportToHtml } from './memory/html.js';
export type { MemoryHtmlOptions } from './memory/html.js';
export { memoryRowsToCsv } from './memory/csv.js';

// Read and write the formats
export type * from './model.js';
export { readRdb, readRdbFile } from './rdb/reader.js';
export type {
  ByteInput,
  ChunkedOptions,
  ReadRdbOptions,
  RdbWarning,
  RdbWarningCode,
  RdbReadProgress,
  KeyBeginRecord,
  KeyPartRecord,
  KeyEndRecord,
  RdbChunkRecord,
} from './rdb/reader.js';
export { writeRdb, writeRdbFile, createRdbWriteStream } from './rdb/writer.js';
export type { RdbTarget, EncodingLimits, WriteRdbOptions, EncodedKeyRecord } from './rdb/writer.js';
export { parseRespCommands } from './resp/parser.js';
export type { ParsedCommand, ParseRespOptions, TruncatedTail } from './resp/parser.js';
export { command } from './resp/encode.js';
export type { Command, CommandArg } from './resp/encode.js';
export { recordsToCommands } from './resp/records-to-commands.js';
export type { RecordsToCommandsOptions } from './resp/records-to-commands.js';
export { commandsToResp } from './resp/writer.js';
export type { CommandsToRespOptions, RespHeaderInfo } from './resp/writer.js';
export { commandsToReadable, readableToCommands } from './resp/readable.js';
export { commandsToRecords } from './io/commands-to-records.js';
export type { CommandsToRecordsOptions } from './io/commands-to-records.js';
export { recordsToJsonl, jsonlToRecords } from './jsonl/jsonl.js';
export type { RecordsToJsonlOptions } from './jsonl/jsonl.js';
export { readAof } from './aof/read-aof.js';
export type { AofSegment, ReadAofOptions } from './aof/read-aof.js';
export { keySlot } from './cluster/slot.js';
export { bytesToText, displayBytes } from './rdb/text.js';

// Errors
export { BackupError, RdbError, MemoryError } from './errors.js';
export type { BackupErrorCode, RdbErrorCode, RdbErrorDetails, MemoryErrorCode } from './errors.js';
