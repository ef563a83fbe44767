import { getServer, listClusters } from '@valkey-tools/binaries';
import { parseInfo } from '@valkey-tools/core';
import type { CommandContext } from '../main.js';
import { formatBytes } from '../output.js';
import { homeOf, notFound } from '../servers.js';

const LIVE_FIELDS = {
  uptimeSeconds: ['uptime_in_seconds', Number],
  role: ['role', String],
  connectedClients: ['connected_clients', Number],
  usedMemory: ['used_memory', Number],
  maxmemory: ['maxmemory', Number],
  maxmemoryPolicy: ['maxmemory_policy', String],
  rdbLastSaveTime: ['rdb_last_save_time', Number],
  aofEnabled: ['aof_enabled', (v: string) => v === '1'],
  clusterEnabled: ['cluster_enabled', (v: string) => v === '1'],
} as const;

export async function run({ args, io, out }: CommandContext<'info'>): Promise<number | undefined> {
  const name = args[0]!;
  const home = homeOf(io);
  const server = await getServer(name, { home });
  if (!server) {
    const cluster = (await listClusters({ home })).find((c) => c.name === name);
    if (!cluster) throw await notFound(name, io);
    out.result({ kind: 'cluster', ...cluster }, () => {
      out.line(`cluster ${cluster.name}: ${cluster.running}/${cluster.nodes.length} nodes running`);
      out.line(`  shape    ${cluster.primaries} primaries x ${cluster.replicasPerPrimary} replicas`);
      out.line(`  seeds    ${cluster.seeds.join(' ')}`);
      out.line(`  dir      ${cluster.dir}`);
      out.line(`  created  ${cluster.createdAt}`);
    });
    return undefined;
  }
  const reply = await server.command('INFO');
  const info = typeof reply === 'string' || Buffer.isBuffer(reply) ? parseInfo(reply.toString()) : {};
  const live: Record<string, unknown> = {};
  for (const [key, [field, convert]] of Object.entries(LIVE_FIELDS)) {
    const raw = info[field];
    live[key] = raw === undefined ? null : convert(raw);
  }
  const keyspace: Record<string, { keys: number; expires: number }> = {};
  for (const [field, value] of Object.entries(info)) {
    const m = /^db(\d+)$/.exec(field);
    const keys = /keys=(\d+)/.exec(value);
    const expires = /expires=(\d+)/.exec(value);
    if (m && keys) keyspace[m[1]!] = { keys: Number(keys[1]), expires: Number(expires?.[1] ?? 0) };
  }
  const { process: _child, command: _command, stop: _stop, ...record } = server;
  out.result(
    { kind: 'server', ...record, cluster: record.cluster ?? null, live: { ...live, keyspace } },
    () => {
      const rows: Array<[string, string]> = [
        ['url', server.url],
        ['version', `${server.flavor} ${server.version}`],
        ['pid', String(server.pid)],
        ['role', String(live.role ?? '?')],
        ['uptime', `${live.uptimeSeconds ?? '?'}s`],
        ['memory', typeof live.usedMemory === 'number' ? formatBytes(live.usedMemory) : '?'],
        ['clients', String(live.connectedClients ?? '?')],
        [
          'keys',
          Object.entries(keyspace)
            .map(([db, k]) => `db${db}=${k.keys}`)
            .join(' ') || '0',
        ],
        ['dir', server.dir],
        ['config', server.configFile],
        ['log', server.logFile],
        ['binary', server.binary],
        ['started', server.startedAt],
      ];
      if (server.cluster) rows.push(['cluster', server.cluster]);
      out.line(out.style('bold', server.name));
      for (const [k, v] of rows) out.line(`  ${k.padEnd(8)} ${v}`);
    },
  );
  return undefined;
}
