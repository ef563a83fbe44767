import { homedir } from 'node:os';
import { join } from 'node:path';

/** The cache root: `VALKEY_TOOLS_HOME`, else `~/.valkey-tools`. */
export function valkeyToolsHome(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.VALKEY_TOOLS_HOME;
  if (fromEnv && fromEnv.trim() !== '') return fromEnv;
  return join(homedir(), '.valkey-tools');
}

/** True when the env asks for offline mode (`VALKEY_TOOLS_OFFLINE=1|true|yes`). */
export function isOfflineEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  return /^(1|true|yes|on)$/i.test(env.VALKEY_TOOLS_OFFLINE ?? '');
}
