import type { CommandContext } from '../main.js';
import { serverUrl } from '../servers.js';

export async function run({ args, io, out }: CommandContext<'url'>): Promise<number | undefined> {
  const url = await serverUrl(args[0]!, io);
  out.result({ name: args[0]!, url }, () => out.line(url));
  return undefined;
}
