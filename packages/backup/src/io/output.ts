import type { RdbRecord } from '../model.js';
import { commandsToReadable } from '../resp/readable.js';
import { type RecordsToCommandsOptions, recordsToCommands } from '../resp/records-to-commands.js';
import { commandsToResp, type RespHeaderInfo } from '../resp/writer.js';
import type { OutputFormat } from './formats.js';
import { recordsToJsonlChunks } from '../jsonl/jsonl.js';
import { encodeDump } from '../rdb/dump.js';
import { writeRdb } from '../rdb/writer.js';

export interface RecordsOutputOptions extends RecordsToCommandsOptions {
  /** Header info for `.valkey` output. */
  header?: RespHeaderInfo;
}

/** Encodes a record stream in an output format, streaming. */
export function encodeRecords(
  records: AsyncIterable<RdbRecord>,
  format: OutputFormat,
  options: RecordsOutputOptions = {},
): AsyncIterable<Buffer> {
  const cmdOptions: RecordsToCommandsOptions = { dumpPayload: encodeDump, exactScores: true, ...options };
  switch (format) {
    case 'rdb':
      return writeRdb(records);
    case 'jsonl':
      return recordsToJsonlChunks(records);
    case 'resp':
      return commandsToResp(
        recordsToCommands(records, cmdOptions),
        options.header ? { header: options.header } : {},
      );
    case 'readable':
      return commandsToReadable(
        recordsToCommands(records, cmdOptions),
        options.header ? { header: options.header } : {},
      );
  }
}
