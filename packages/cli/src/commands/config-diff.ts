import type { CommandContext } from '../main.js';
import { notAvailable } from '../pending.js';

export async function run(_ctx: CommandContext<'config diff'>): Promise<number | undefined> {
  throw notAvailable('config diff');
}
