import { startCluster } from '@valkey-tools/binaries';
import type { CommandContext } from '../main.js';
import { homeOf } from '../servers.js';

export async function run({
  flags,
  io,
  out,
  signal,
}: CommandContext<'cluster create'>): Promise<number | undefined> {
  const options: Parameters<typeof startCluster>[0] = {
    primaries: flags.primaries,
    replicasPerPrimary: flags.replicas,
    home: homeOf(io),
    resolve: { env: io.env, ...(flags.system ? { preferSystem: true } : {}) },
    onStatus: (message) => out.info(message),
    // The nodes outlive this command; Ctrl-C before the cluster is ready stops every node.
    detached: true,
    signal,
  };
  if (flags.name !== undefined) options.name = flags.name;
  if (flags.port !== undefined) options.basePort = flags.port;
  const cluster = await startCluster(options);
  out.result(
    {
      name: cluster.name,
      seeds: cluster.seeds,
      dir: cluster.dir,
      nodes: cluster.nodes.map((n) => ({
        name: n.name,
        url: n.url,
        port: n.port,
        pid: n.pid,
        role: n.role,
        nodeId: n.nodeId,
        slots: n.slots ?? null,
        primaryId: n.primaryId ?? null,
      })),
    },
    () => {
      out.line(cluster.seeds[0] ?? '');
      out.info(
        `cluster "${cluster.name}" is up: ${cluster.primaries.length} primaries, ${cluster.replicas.length} replicas ` +
          `(ports ${cluster.nodes.map((n) => n.port).join(', ')}). Stop it with: valkey-tools cluster stop ${cluster.name}`,
      );
    },
  );
  return undefined;
}
