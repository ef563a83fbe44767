import type { KeyMemory } from './estimate.js';
import { keyToText } from '../rdb/text.js';

/** The columns of rdbtools' memory report, which spreadsheet templates and scripts expect. */
export const MEMORY_CSV_HEADER =
  'database,type,key,size_in_bytes,encoding,num_elements,len_largest_element,expiry';

function csvField(text: string): string {
  return /[",\r\n]/.test(text) || /^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One CSV line (no newline) for a key: expiry as an ISO-8601 UTC time, empty without a TTL. */
export function keyMemoryToCsvLine(k: KeyMemory): string {
  const expiry = k.expiresAt === undefined ? '' : new Date(k.expiresAt).toISOString();
  return [
    k.db,
    k.type,
    csvField(keyToText(k.key)),
    k.bytes,
    k.encoding,
    k.elements,
    k.largestElement,
    expiry,
  ].join(',');
}

/**
 * Streams estimates as rdbtools-compatible CSV: the header line, then one line per key, each ending
 * in `\n`. Pipe it into a file with `Readable.from(memoryRowsToCsv(rows)).pipe(out)`.
 */
export async function* memoryRowsToCsv(
  rows: AsyncIterable<KeyMemory> | Iterable<KeyMemory>,
): AsyncGenerator<string> {
  yield `${MEMORY_CSV_HEADER}\n`;
  for await (const row of rows) yield `${keyMemoryToCsvLine(row)}\n`;
}
