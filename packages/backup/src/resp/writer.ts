import { type Command, encodeCommand } from './encode.js';

/**
 * The `.valkey` header: a harmless first command, `ECHO "valkey-tools resp 1 <json>"`. The file
 * stays a plain command stream (`valkey-cli --pipe` counts one extra reply; a server replaying it
 * just echoes), and our readers recognise and skip it.
 */
export const RESP_HEADER_PREFIX = 'valkey-tools resp 1';

export interface RespHeaderInfo {
  /** Where the data came from (a file name or a redacted URL). */
  source?: string;
  /** ISO time the file was written. */
  created?: string;
  /** Writer of the file. */
  tool?: string;
  /**
   * `keys` (default): each key's commands are consecutive and create it from nothing, so a
   * restore can replace or refuse existing keys. `raw`: replay as is (converted AOF files).
   */
  replay?: 'keys' | 'raw';
  [key: string]: unknown;
}

export function headerCommand(info: RespHeaderInfo): Command {
  return [Buffer.from('ECHO'), Buffer.from(`${RESP_HEADER_PREFIX} ${JSON.stringify(info)}`)];
}

/** True for the header command written by `commandsToResp` (and parses its info). */
export function parseHeaderCommand(args: readonly Buffer[]): RespHeaderInfo | null {
  if (args.length !== 2 || args[0]!.length !== 4 || args[0]!.toString('latin1').toUpperCase() !== 'ECHO')
    return null;
  const text = args[1]!.toString('utf8');
  if (!text.startsWith(`${RESP_HEADER_PREFIX} `)) return null;
  try {
    return JSON.parse(text.slice(RESP_HEADER_PREFIX.length + 1)) as RespHeaderInfo;
  } catch {
    return {};
  }
}

export interface CommandsToRespOptions {
  /** Write the ECHO header first (default: none). */
  header?: RespHeaderInfo;
  /** Target chunk size (default 64 KiB). */
  chunkSize?: number;
}

/** Encodes commands as RESP2, coalesced into chunks of about `chunkSize` bytes. */
export async function* commandsToResp(
  commands: AsyncIterable<Command> | Iterable<Command>,
  options: CommandsToRespOptions = {},
): AsyncGenerator<Buffer> {
  const target = options.chunkSize ?? 64 * 1024;
  let parts: Buffer[] = [];
  let size = 0;
  let pendingHeader = options.header;
  // The header is encoded once the first command is known, so a producer can still fill it in.
  const writeHeader = () => {
    if (!pendingHeader) return;
    const h = encodeCommand(headerCommand(pendingHeader));
    parts.push(h);
    size += h.length;
    pendingHeader = undefined;
  };
  for await (const c of commands) {
    writeHeader();
    const b = encodeCommand(c);
    parts.push(b);
    size += b.length;
    if (size >= target) {
      yield parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
      parts = [];
      size = 0;
    }
  }
  writeHeader();
  if (size > 0) yield Buffer.concat(parts, size);
}
