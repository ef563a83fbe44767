import { createKvCacheService } from '@valkey-tools/kvcache-index';
import { assertNoSentinelFlags, connectionUrl } from '../credentials.js';
import type { CommandContext } from '../main.js';

/** Runs until Ctrl-C or SIGTERM, then shuts down gracefully (exit code 0). */
export async function run({
  flags,
  io,
  out,
  signal,
}: CommandContext<'kvcache serve'>): Promise<number | undefined> {
  if (flags.backend === 'memory') assertNoSentinelFlags(flags, 'kvcache serve', 'the backend is memory');
  const service = await createKvCacheService({
    backend:
      flags.backend === 'memory'
        ? 'memory'
        : await connectionUrl(flags.backend, flags, io, out, 'kvcache serve'),
    zmqEndpoints: flags.zmq,
    port: flags.port,
    host: flags.host,
    tokenProcessor: {
      blockSize: flags['block-size'],
      ...(flags.seed !== undefined ? { hashSeed: flags.seed } : {}),
    },
  });
  out.result({ url: service.url, host: service.host, port: service.port }, () => {
    out.line(service.url);
    out.info(
      `kvcache service on ${service.url} (POST /score, GET /metrics), index: ${flags.backend}, ` +
        `${flags.zmq.length} ZMQ endpoint${flags.zmq.length === 1 ? '' : 's'}; Ctrl-C stops it`,
    );
  });
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await service.close();
  out.info('kvcache service stopped');
  return 0;
}
