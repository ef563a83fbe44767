export { BackupError } from '../errors.js';
export type { BackupErrorCode } from '../errors.js';
export { encodeCommand, command, toArg } from './encode.js';
export type { Command, CommandArg } from './encode.js';
export { RespCommandParser, parseRespCommands } from './parser.js';
export type { ParsedCommand, RespParserOptions, ParseRespOptions, TruncatedTail } from './parser.js';
export {
  quoteArg,
  formatCommandLine,
  parseCommandLine,
  commandsToReadable,
  readableToCommands,
} from './readable.js';
export {
  recordsToCommands,
  keyRecordToCommands,
  functionRecordToCommand,
  formatScore,
  formatStreamId,
} from './records-to-commands.js';
export type { RecordsToCommandsOptions } from './records-to-commands.js';
export { commandsToResp, headerCommand, parseHeaderCommand, RESP_HEADER_PREFIX } from './writer.js';
export type { CommandsToRespOptions, RespHeaderInfo } from './writer.js';
