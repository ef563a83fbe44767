import { resolve } from 'node:path';
import {
  type ConfigIssue,
  type ValkeyConfigInput,
  formatIssue,
  parseConfigFile,
  toConfigInput,
  validateConfig,
} from '@valkey-tools/config';
import { CliError } from './errors.js';
import type { Io } from './output.js';

/** Fails (exit 1) on the first error-level issue, naming file:line and what is allowed. */
export function assertNoErrors(issues: readonly ConfigIssue[], what: string): void {
  const errors = issues.filter((i) => i.severity === 'error');
  if (errors.length === 0) return;
  const more =
    errors.length > 1 ? ` (and ${errors.length - 1} more; run "valkey-tools config check" to see all)` : '';
  throw new CliError('ERR_INVALID_INPUT', `${what}: ${formatIssue(errors[0]!)}${more}`, {
    details: { issues: errors },
  });
}

/** Reads and validates a valkey.conf into config data. */
export function loadConfigFile(path: string, io: Io): ValkeyConfigInput {
  const parsed = parseConfigFile(resolve(io.cwd, path));
  assertNoErrors(validateConfig(parsed), `invalid config ${path}`);
  // The server runs from its own dir: bring included files in rather than keep relative includes.
  return toConfigInput(parsed, { includes: 'flatten' });
}
