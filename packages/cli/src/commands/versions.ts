import type { CommandContext } from '../main.js';
import { notAvailable } from '../pending.js';

export async function run(_ctx: CommandContext<'versions'>): Promise<number | undefined> {
  throw notAvailable('versions');
}
