import { formatConnectionUrl, parseConnectionUrl } from '@valkey-tools/core';
import type { CommandContext } from '../main.js';
import { findTarget } from '../servers.js';

export async function run({ args, flags, io, out }: CommandContext<'url'>): Promise<number | undefined> {
  const name = args[0]!;
  const target = await findTarget(name, io);
  let url = target.url;
  if (target.credentials && flags['with-password']) {
    const parsed = parseConnectionUrl(url);
    if (target.credentials.user !== undefined) parsed.username = target.credentials.user;
    parsed.password = target.credentials.password;
    url = formatConnectionUrl(parsed);
  } else if (target.credentials) {
    out.info(
      `${name} needs a password, which this URL leaves out: add --with-password to include it ` +
        `(connect ${name} and stop ${name} find it themselves)`,
    );
  }
  const result = { name, url, hasPassword: target.credentials !== undefined };
  if (url !== target.url) out.revealed(result, url);
  else out.result(result, () => out.line(url));
  return undefined;
}
