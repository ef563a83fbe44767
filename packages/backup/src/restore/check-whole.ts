import type { InputFormat } from '../io/formats.js';
import { checkDumpPayload } from '../rdb/dump.js';
import { verifyRdb } from '../rdb/inspect.js';
import { keyToText } from '../rdb/text.js';
import { ValkeyToolsError, type ValkeyToolsErrorOptions } from '@valkey-tools/core';
import { BackupError } from '../errors.js';
import { checkInput } from './check-input.js';
import { display, type RestoreRun, withoutHint } from './run.js';

/**
 * Reads a command or JSONL file (any format but RDB) whole once before anything is sent: a bad
 * input, or one that runs other commands than data, leaves the target as it was — `flush`
 * included. For commands replayed as they come into a target with keys, finds which of the
 * input's keys the target holds (the per-key rule). Then the target may be written.
 */
export async function checkWholeInput(run: RestoreRun, input: string, format: InputFormat): Promise<void> {
  const { stats, conn } = run;
  run.phase = 'checking';
  const check = await nothingWritten(
    checkInput(input, {
      format,
      filter: run.filter,
      truncated: run.truncated,
      verbatim: run.verbatim,
      collectKeys: !run.targetEmpty && !run.verbatim,
      // A RESTORE payload in a command file is checked like an RDB value: the server (with the
      // default sanitize-dump-payload no) would load a crafted one and crash on it later.
      checkPayload: (payload, where) => {
        try {
          checkDumpPayload(payload, { maxVersion: 0xffff });
        } catch (err) {
          throw new BackupError(
            'ERR_RESTORE',
            `${where}: the payload would not pass the server's checks: ${withoutHint(err)}; nothing was sent`,
            {
              cause: err,
              details: { input, payloadOffset: (err as { details?: { offset?: number } }).details?.offset },
              hint: 'The file is damaged or crafted: restore from a good copy',
            },
          );
        }
      },
      onBytes: (n) => {
        run.checkAborted();
        stats.inputBytes += n;
        run.progress(false);
      },
    }),
  );
  run.phase = 'restoring';
  stats.inputBytes = 0;
  if (check.replay && check.keys) {
    run.inputKeys = check.keys;
    const existing = await run.existingKeys(check.keys);
    run.existing = existing;
    if (existing.size > 0 && !run.replace && run.onError === 'stop') {
      const [db, key] = existing.entries().next().value!;
      throw new BackupError(
        'ERR_RESTORE',
        `${existing.size} of the keys in ${input} already exist on ${conn.where} (the first: "${keyToText(key)}" in db ${run.dbOf(db)}); nothing was written`,
        {
          details: {
            url: conn.where,
            input,
            key: display(key),
            db: run.dbOf(db),
            existing: existing.size,
            keysRestored: 0,
          },
          hint: 'Pass --replace (replace: true) to make those keys exactly what the file says, --on-error continue (onError: "continue") to leave them as they are and restore the rest, or --flush (flush: true) to empty the target first',
        },
      );
    }
  }
  await run.inputChecked(check.dbs);
}

/**
 * A bad input found by the check pass (a parse error with its line and offset) says that nothing
 * was written, as a bad RDB file's does; the error keeps its class, code, details and hint.
 */
async function nothingWritten<T>(check: Promise<T>): Promise<T> {
  try {
    return await check;
  } catch (err) {
    if (
      !ValkeyToolsError.isInstance(err) ||
      err.code === 'ERR_ABORTED' ||
      /nothing was (written|sent)/i.test(err.message)
    )
      throw err;
    const Same = err.constructor as new (
      code: string,
      message: string,
      options: ValkeyToolsErrorOptions,
    ) => Error;
    throw new Same(err.code, `${withoutHint(err)}; nothing was written`, {
      cause: err,
      details: err.details,
      ...(err.hint === undefined ? {} : { hint: err.hint }),
    });
  }
}

/**
 * Verifies an RDB file whole before anything is sent (when the raw RDB strategy, whose first pass
 * does this, did not run or could not open it): a corrupt file writes nothing. Then the target
 * may be written.
 */
export async function verifyWholeRdb(run: RestoreRun, path: string): Promise<void> {
  const v = await verifyRdb(path);
  if (v.error) {
    throw new BackupError('ERR_RESTORE', `${path} is not a valid RDB file: ${v.error.message}`, {
      details: { path, ...v.error },
      hint: 'Nothing was written. `valkey-tools verify` shows the damage; restore from a good copy',
    });
  }
  await run.inputChecked();
}
