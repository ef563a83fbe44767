import { stopCluster } from '@valkey-tools/binaries';
import type { CommandContext } from '../main.js';
import { homeOf } from '../servers.js';

export async function run({ args, io, out }: CommandContext<'cluster stop'>): Promise<number | undefined> {
  const record = await stopCluster(args[0]!, { home: homeOf(io) });
  out.result({ stopped: record.name, nodes: record.nodes }, () => {
    out.line(`stopped cluster ${record.name} (${record.nodes.length} nodes)`);
  });
  return undefined;
}
