import type { CommandContext } from '../main.js';
import { notAvailable } from '../pending.js';

export async function run(_ctx: CommandContext<'cluster create'>): Promise<number | undefined> {
  throw notAvailable('cluster create');
}
