import { BackupError } from '../errors.js';
import { parseCommandLine } from '../resp/readable.js';

/** One line of a multi-part AOF manifest (`file <name> seq <n> type <b|h|i>`). */
export interface AofManifestEntry {
  file: string;
  seq: number;
  /** `base` (BASE, RDB or AOF form), `incr` (INCR), `history` (left over, not loaded). */
  type: 'base' | 'incr' | 'history';
}

const TYPES: Record<string, AofManifestEntry['type']> = { b: 'base', i: 'incr', h: 'history' };

/**
 * Parses a manifest (Valkey 7.0+ `appendonly.aof.manifest`). Names with spaces are quoted the
 * way the server writes them (`sdscatrepr`), so lines are split with the same rules.
 */
export function parseAofManifest(text: string, source = 'manifest'): AofManifestEntry[] {
  const out: AofManifestEntry[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    if (line.trim() === '' || line.startsWith('#')) continue;
    const fail = (problem: string): never => {
      throw new BackupError('ERR_AOF_MANIFEST', `${source}:${i + 1}: ${problem}`, {
        details: { file: source, line: i + 1 },
        hint: 'The manifest lists "file <name> seq <n> type <b|i|h>" per line; repair it or restore from a copy',
      });
    };
    const parts = parseCommandLine(line, { line: i + 1, source }).map((b) => b.toString('utf8'));
    const fields: Record<string, string> = {};
    for (let j = 0; j + 1 < parts.length; j += 2) fields[parts[j]!] = parts[j + 1]!;
    if (parts.length % 2 !== 0) fail('odd number of fields');
    const file = fields.file;
    const seq = fields.seq;
    const type = fields.type;
    if (!file) fail('missing "file"');
    if (!seq || !/^\d+$/.test(seq)) fail('missing or bad "seq"');
    if (!type || !TYPES[type]) fail(`missing or unknown "type" ${type ?? ''}`);
    if (file!.includes('/')) fail(`file name "${file}" must not contain a path`);
    out.push({ file: file!, seq: Number(seq), type: TYPES[type!]! });
  }
  const bases = out.filter((e) => e.type === 'base');
  if (bases.length > 1) {
    throw new BackupError('ERR_AOF_MANIFEST', `${source}: more than one BASE file`, {
      details: { file: source },
    });
  }
  return out;
}

/** The files to load, in order: the BASE file, then INCR files by sequence (history skipped). */
export function aofLoadOrder(entries: AofManifestEntry[]): AofManifestEntry[] {
  const base = entries.filter((e) => e.type === 'base');
  // INCR files are loaded in manifest order, which the server keeps sorted by seq.
  const incr = entries.filter((e) => e.type === 'incr');
  return [...base, ...incr];
}
