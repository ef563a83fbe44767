import type { CommandContext } from '../main.js';
import { notAvailable } from '../pending.js';

export async function run(_ctx: CommandContext<'info'>): Promise<number | undefined> {
  throw notAvailable('info');
}
