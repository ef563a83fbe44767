import { CliError } from './errors.js';
import type { Io } from './output.js';

/** The URL of a managed server by name. */
export async function serverUrl(name: string, _io: Io): Promise<string> {
  throw new CliError('ERR_NOT_FOUND', `no managed server named "${name}"`, {
    details: { name },
    hint: 'Run "valkey-tools list" to see the managed servers',
  });
}
