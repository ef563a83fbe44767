import { type Command, encodeCommand, encodeCommandInto, encodedLength } from './encode.js';

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

/** Encodes commands straight into fixed-size chunk buffers; a command larger than a chunk gets its own. */
class RespChunker {
  private chunk: Buffer;
  private pos = 0;
  /** Finished chunks not yet handed out. */
  readonly ready: Buffer[] = [];

  constructor(private readonly target: number) {
    this.chunk = Buffer.allocUnsafe(target);
  }

  add(c: Command): void {
    const n = encodedLength(c);
    if (this.pos + n > this.target && this.pos > 0) {
      this.ready.push(this.chunk.subarray(0, this.pos));
      this.chunk = Buffer.allocUnsafe(this.target);
      this.pos = 0;
    }
    if (n > this.target) this.ready.push(encodeCommand(c));
    else this.pos = encodeCommandInto(this.chunk, this.pos, c);
  }

  /** Moves the partly filled chunk to `ready`. */
  flush(): void {
    if (this.pos > 0) this.ready.push(this.chunk.subarray(0, this.pos));
    this.pos = 0;
  }
}

/** Encodes commands as RESP2, coalesced into chunks of about `chunkSize` bytes. */
export async function* commandsToResp(
  commands: AsyncIterable<Command> | Iterable<Command>,
  options: CommandsToRespOptions = {},
): AsyncGenerator<Buffer> {
  const out = new RespChunker(options.chunkSize ?? 64 * 1024);
  let pendingHeader = options.header;
  // The header is encoded once the first command is known, so a producer can still fill it in.
  for await (const c of commands) {
    if (pendingHeader) {
      out.add(headerCommand(pendingHeader));
      pendingHeader = undefined;
    }
    out.add(c);
    if (out.ready.length > 0) {
      yield* out.ready;
      out.ready.length = 0;
    }
  }
  if (pendingHeader) out.add(headerCommand(pendingHeader));
  out.flush();
  yield* out.ready;
}

/**
 * `commandsToResp` over batches of commands (one await per batch instead of per command: the
 * fast path for converters that produce a key's commands at once).
 */
export async function* commandBatchesToResp(
  batches: AsyncIterable<readonly Command[]> | Iterable<readonly Command[]>,
  options: CommandsToRespOptions = {},
): AsyncGenerator<Buffer> {
  const out = new RespChunker(options.chunkSize ?? 64 * 1024);
  let pendingHeader = options.header;
  for await (const batch of batches) {
    for (const c of batch) {
      if (pendingHeader) {
        out.add(headerCommand(pendingHeader));
        pendingHeader = undefined;
      }
      out.add(c);
    }
    if (out.ready.length > 0) {
      yield* out.ready;
      out.ready.length = 0;
    }
  }
  if (pendingHeader) out.add(headerCommand(pendingHeader));
  out.flush();
  yield* out.ready;
}
