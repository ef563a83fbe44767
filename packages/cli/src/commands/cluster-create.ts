import { startCluster } from '@valkey-tools/binaries';
import { validatedSetFlags } from '../config-overrides.js';
import { usageError } from '../errors.js';
import type { CommandContext } from '../main.js';
import { homeOf } from '../servers.js';

/** Directives the cluster sets per node itself: one value for every node would break it. */
const PER_NODE = ['port', 'dir', 'cluster-enabled', 'cluster-config-file', 'cluster-port'];

export async function run({
  flags,
  io,
  out,
  signal,
}: CommandContext<'cluster create'>): Promise<number | undefined> {
  const config = validatedSetFlags(flags.set, 'cluster create');
  const perNode = PER_NODE.find((name) => name in config);
  if (perNode !== undefined) {
    throw usageError(
      'ERR_INVALID_ARGUMENT',
      `--set ${perNode}: the cluster sets it for each node itself${perNode === 'port' ? ' (use --port for the first port)' : ''}`,
      'cluster create',
    );
  }
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
  if (Object.keys(config).length > 0) options.config = config;
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
