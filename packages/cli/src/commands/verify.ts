import type { CommandContext } from '../main.js';
import { notAvailable } from '../pending.js';

export async function run(_ctx: CommandContext<'verify'>): Promise<number | undefined> {
  throw notAvailable('verify');
}
