import { CliError } from './errors.js';

/** For commands whose package API has not landed yet. */
export function notAvailable(command: string): CliError {
  return new CliError('ERR_NOT_AVAILABLE', `"${command}" is not available in this build yet`, {
    details: { command },
  });
}
