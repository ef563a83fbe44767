import type { CommandContext } from '../main.js';
import { notAvailable } from '../pending.js';

export async function run(_ctx: CommandContext<'kvcache keys'>): Promise<number | undefined> {
  throw notAvailable('kvcache keys');
}
