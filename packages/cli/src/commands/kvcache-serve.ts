import type { CommandContext } from '../main.js';
import { notAvailable } from '../pending.js';

export async function run(_ctx: CommandContext<'kvcache serve'>): Promise<number | undefined> {
  throw notAvailable('kvcache serve');
}
