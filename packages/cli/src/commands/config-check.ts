import type { CommandContext } from '../main.js';
import { notAvailable } from '../pending.js';

export async function run(_ctx: CommandContext<'config check'>): Promise<number | undefined> {
  throw notAvailable('config check');
}
