import { type FileHandle, open } from 'node:fs/promises';
import { dumpPayload } from '../rdb/dump.js';
import { fastVerify, type RawKey } from '../rdb/fast-verify.js';
import { verifyRdbWithReader } from '../rdb/inspect.js';
import type { Command } from '../resp/encode.js';
import { BackupError } from '../resp/errors.js';
import { restoreCommand } from './items.js';

/** A key of an RDB file as the RESTORE command that re-creates it, or a function library. */
export type RawRestore =
  | { kind: 'key'; db: number; key: Buffer; args: Command }
  | { kind: 'function'; code: Buffer };

export interface RawRdbOptions {
  /** The newest DUMP payload version the target accepts. */
  payloadVersion: number;
  /** The target is Valkey (it then also takes Valkey-only RDB versions up to `payloadVersion`). */
  targetIsValkey: boolean;
  /** Called with the entries of each input window (awaited: the window stays until it returns). */
  onEntries: (entries: RawRestore[]) => Promise<void>;
  /** Bytes of the file walked so far. */
  onBytes?: (bytes: number) => void;
}

/** Reads a file at explicit positions (so two passes over one handle never share a cursor). */
function reader(fh: FileHandle) {
  let pos = 0;
  return async (into: Buffer, offset: number, length: number): Promise<number> => {
    const { bytesRead } = await fh.read(into, offset, length, pos);
    pos += bytesRead;
    return bytesRead;
  };
}

/**
 * The RESTORE command for a key whose value is still in RDB encoding: the value bytes are the
 * payload body as they are (no decoding, no re-encoding), followed by the RDB version and the
 * CRC-64 a DUMP payload carries.
 */
function restoreArgs(k: RawKey, version: number): Command {
  const payload = dumpPayload(k.type, k.value, version);
  return restoreCommand(Buffer.from(k.key), payload, k);
}

/**
 * Restores an RDB file the way `valkey-cli --pipe` would if it could: every key's value goes to
 * RESTORE in the encoding the file already has. The whole file is verified first (structure and
 * CRC-64), so a corrupt file writes nothing (it throws). Returns false, having sent nothing, when
 * the file needs the record reader: it is valid but has what the fast walk does not take (module
 * values, rare opcodes), or its RDB version is newer than the target takes.
 */
export async function restoreRawRdb(path: string, options: RawRdbOptions): Promise<boolean> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch {
    return false;
  }
  try {
    const { size } = await fh.stat();
    const checked = await fastVerify(reader(fh), size);
    if (!checked) {
      // Unusual or corrupt: the full reader tells which. Corrupt input must not reach the target.
      const full = await verifyRdbWithReader(path);
      if (full.error) {
        throw new BackupError('ERR_RESTORE', `${path} is not a valid RDB file: ${full.error.message}`, {
          details: { path, ...full.error },
          hint: 'Nothing was written. `valkey-tools verify` shows the damage; restore from a good copy',
        });
      }
      return false;
    }
    const fits =
      checked.version <= options.payloadVersion &&
      (checked.version <= 11 || (checked.magic === 'VALKEY' && options.targetIsValkey));
    if (!fits) return false;
    let batch: RawRestore[] = [];
    const walked = await fastVerify(reader(fh), size, {
      checksum: false,
      onKey: (k) => {
        const args = restoreArgs(k, checked.version);
        batch.push({ kind: 'key', db: k.db, key: args[1]!, args });
      },
      onFunction: (code) => batch.push({ kind: 'function', code: Buffer.from(code) }),
      onWindow: async () => {
        if (batch.length === 0) return;
        const entries = batch;
        batch = [];
        await options.onEntries(entries);
      },
      ...(options.onBytes ? { onProgress: (p) => options.onBytes!(p.bytes), progressEvery: 1000 } : {}),
    });
    if (!walked) {
      throw new BackupError('ERR_RESTORE', `${path} changed while it was being restored`, {
        details: { path },
        hint: 'Restore from a file nothing writes to (copy it first), with replace: true to converge',
      });
    }
    return true;
  } finally {
    await fh.close();
  }
}
