import { listClusters, listServers, stopCluster, stopServer } from '@valkey-tools/binaries';
import { ValkeyToolsError } from '@valkey-tools/core';
import { usageError } from '../errors.js';
import type { CommandContext } from '../main.js';
import { homeOf, notFound } from '../servers.js';

export async function run({ args, flags, io, out }: CommandContext<'stop'>): Promise<number | undefined> {
  const name = args[0];
  if ((name === undefined) === !flags.all) {
    throw usageError(
      'ERR_MISSING_ARGUMENT',
      `stop needs a server name or --all (one of them). Run "valkey-tools stop --help"`,
      'stop',
    );
  }
  if (flags.save && flags.nosave) {
    throw usageError('ERR_INVALID_ARGUMENT', '--save and --nosave exclude each other', 'stop');
  }
  const mode = { save: flags.save, nosave: flags.nosave };
  const home = homeOf(io);
  const stopped: string[] = [];
  if (flags.all) {
    for (const cluster of await listClusters({ home })) {
      await stopCluster(cluster.name, { home, ...mode });
      stopped.push(cluster.name);
    }
    for (const server of await listServers({ home })) {
      await stopServer(server.name, { home, ...mode });
      stopped.push(server.name);
    }
  } else {
    try {
      await stopServer(name!, { home, ...mode });
    } catch (err) {
      if (!ValkeyToolsError.hasCode(err, 'ERR_SERVER_NOT_FOUND')) throw err;
      // Not a server: maybe a cluster (stop works on both).
      if (!(await listClusters({ home })).some((c) => c.name === name)) throw await notFound(name!, io);
      await stopCluster(name!, { home, ...mode });
    }
    stopped.push(name!);
  }
  out.result({ stopped }, () => {
    if (stopped.length === 0) out.info('no managed servers were running');
    for (const s of stopped) out.line(`stopped ${s}`);
  });
  return undefined;
}
