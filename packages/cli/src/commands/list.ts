import { listClusters, listServers } from '@valkey-tools/binaries';
import type { CommandContext } from '../main.js';
import { formatDuration } from '../output.js';
import { homeOf } from '../servers.js';

export async function run({ io, out }: CommandContext<'list'>): Promise<number | undefined> {
  const home = homeOf(io);
  const [servers, clusters] = await Promise.all([listServers({ home }), listClusters({ home })]);
  out.result(
    {
      servers: servers.map((s) => ({
        name: s.name,
        url: s.url,
        host: s.host,
        port: s.port,
        pid: s.pid,
        version: s.version,
        flavor: s.flavor,
        dir: s.dir,
        startedAt: s.startedAt,
        cluster: s.cluster ?? null,
        state: s.state ?? 'running',
        auth: s.auth === true,
      })),
      clusters: clusters.map((c) => ({
        name: c.name,
        seeds: c.seeds,
        nodes: c.nodes,
        running: c.running,
        primaries: c.primaries,
        replicasPerPrimary: c.replicasPerPrimary,
        createdAt: c.createdAt,
        state: c.state ?? 'ready',
      })),
    },
    () => {
      // A node whose cluster has no record (left by an older version) is listed on its own.
      const clusterNames = new Set(clusters.map((c) => c.name));
      const standalone = servers.filter((s) => s.cluster === undefined || !clusterNames.has(s.cluster));
      if (standalone.length === 0 && clusters.length === 0) {
        out.info('no managed servers are running; start one with "valkey-tools start"');
        return;
      }
      if (standalone.length > 0) {
        const now = Date.now();
        out.table(
          ['NAME', 'URL', 'PID', 'VERSION', 'UPTIME'],
          standalone.map((s) => [
            s.name,
            s.url,
            String(s.pid),
            `${s.flavor} ${s.version}`,
            s.state === 'starting' ? 'starting' : formatDuration((now - Date.parse(s.startedAt)) / 1000),
          ]),
        );
      }
      if (clusters.length > 0) {
        if (standalone.length > 0) out.line();
        out.table(
          ['CLUSTER', 'NODES', 'SHAPE', 'SEED'],
          clusters.map((c) => [
            c.name,
            `${c.running}/${c.nodes.length} running${c.state === 'creating' ? ' (creating)' : ''}`,
            `${c.primaries} primaries x ${c.replicasPerPrimary} replicas`,
            c.seeds[0] ?? '',
          ]),
        );
      }
    },
  );
  return undefined;
}
