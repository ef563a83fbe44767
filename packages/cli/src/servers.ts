import { getServer, listClusters, listServers, serverCredentials } from '@valkey-tools/binaries';
import { valkeyToolsHome } from '@valkey-tools/core';
import { CliError } from './errors.js';
import type { Io } from './output.js';

export function homeOf(io: Io): string {
  return valkeyToolsHome(io.env);
}

/** The URL of a managed server (or the first seed of a managed cluster) by name. */
export async function serverUrl(name: string, io: Io): Promise<string> {
  return (await findTarget(name, io)).url;
}

/** A managed server or cluster by name: its URL and whether it is a cluster. */
export async function findTarget(
  name: string,
  io: Io,
): Promise<{ url: string; cluster: boolean; credentials?: { password: string; user?: string } }> {
  const home = homeOf(io);
  const server = await getServer(name, { home });
  if (server) {
    const credentials = server.auth ? await serverCredentials(name, { home }) : undefined;
    return {
      url: server.url,
      cluster: server.cluster !== undefined,
      ...(credentials ? { credentials } : {}),
    };
  }
  const cluster = (await listClusters({ home })).find((c) => c.name === name);
  if (cluster?.seeds[0]) return { url: cluster.seeds[0], cluster: true };
  throw await notFound(name, io);
}

export async function notFound(name: string, io: Io): Promise<CliError> {
  const home = homeOf(io);
  const names = [
    ...(await listServers({ home })).map((s) => s.name),
    ...(await listClusters({ home })).map((c) => c.name),
  ];
  return new CliError('ERR_NOT_FOUND', `no managed server or cluster named "${name}"`, {
    details: { name, running: names },
    hint:
      names.length > 0
        ? `Running: ${names.join(', ')}`
        : 'None is running; start one with "valkey-tools start"',
  });
}
