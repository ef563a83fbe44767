import { BackupError } from '../errors.js';

/** Input formats: RDB, RESP text (`.valkey`/`.resp`), the readable one-line view, JSONL, AOF. */
export type InputFormat = 'rdb' | 'resp' | 'readable' | 'jsonl' | 'aof';
export type OutputFormat = 'rdb' | 'resp' | 'readable' | 'jsonl';

const BY_EXTENSION: Array<[RegExp, InputFormat]> = [
  [/\.rdb$/i, 'rdb'],
  [/\.(valkey|resp)$/i, 'resp'],
  [/\.(txt|valkey\.txt|commands)$/i, 'readable'],
  [/\.(jsonl|ndjson)$/i, 'jsonl'],
  [/\.(aof|manifest)$/i, 'aof'],
];

/** Tells the format from a file name (`dump.rdb`, `backup.valkey`, `x.resp`, `x.txt`, `x.jsonl`, `appendonly.aof`). */
export function formatFromPath(path: string, role: 'input' | 'output'): InputFormat {
  for (const [re, f] of BY_EXTENSION) {
    if (re.test(path)) {
      if (role === 'output' && f === 'aof') break;
      return f;
    }
  }
  throw new BackupError('ERR_FORMAT', `cannot tell the ${role} format of "${path}" from its name`, {
    details: { path },
    hint:
      role === 'input'
        ? 'Name it .rdb, .valkey/.resp, .txt (readable), .jsonl or .aof (or a multi-part AOF directory), or pass `from`'
        : 'Name it .rdb, .valkey/.resp, .txt (readable) or .jsonl, or pass `to`',
  });
}

export function checkOutputFormat(f: string): OutputFormat {
  if (f === 'rdb' || f === 'resp' || f === 'readable' || f === 'jsonl') return f;
  throw new BackupError('ERR_FORMAT', `"${f}" is not an output format`, {
    hint: 'Use rdb, resp, readable or jsonl',
  });
}
