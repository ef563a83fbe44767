import type { CommandContext } from '../main.js';
import { serverUrl } from '../servers.js';

export async function run({ args, io, out }: CommandContext<'url'>): Promise<number | undefined> {
  out.line(await serverUrl(args[0]!, io));
  return undefined;
}
