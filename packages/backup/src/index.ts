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
export { RdbError } from './rdb/errors.js';
export type { RdbErrorCode, RdbErrorDetails } from './rdb/errors.js';
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
