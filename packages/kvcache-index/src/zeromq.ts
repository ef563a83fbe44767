import type * as Zmq from 'zeromq';
import { KvCacheError } from './errors.js';

/** The `zeromq` module, loaded on first use (only vLLM KV events need it). */
export type ZeromqModule = typeof Zmq;

const INSTALL_HINT =
  'vLLM KV events need the optional package zeromq (a native addon, not installed with @valkey-tools/kvcache-index): ' +
  'run `npm install zeromq` in your project; with the CLI through npx: `npx -p @valkey-tools/cli -p zeromq valkey-tools kvcache serve --zmq …`';

let loading: Promise<ZeromqModule> | undefined;

/**
 * Loads `zeromq` (an optional peer dependency) the first time events are subscribed to or published.
 * Without it: a KvCacheError `ERR_MISSING_DEPENDENCY` that says what to install.
 */
export function loadZeromq(
  importer: () => Promise<ZeromqModule> = () => import('zeromq'),
): Promise<ZeromqModule> {
  if (loading) return loading;
  const attempt = importer().catch((err: unknown) => {
    if (loading === attempt) loading = undefined;
    throw zeromqMissing(err);
  });
  loading = attempt;
  return attempt;
}

function zeromqMissing(err: unknown): KvCacheError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const notInstalled = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
  const reason = notInstalled
    ? 'The package "zeromq" is not installed'
    : `The package "zeromq" could not be loaded: ${(err as Error)?.message ?? String(err)}`;
  return new KvCacheError('ERR_MISSING_DEPENDENCY', `${reason}; it is needed for vLLM KV events (ZMQ)`, {
    cause: err,
    details: { package: 'zeromq' },
    hint: INSTALL_HINT,
  });
}
