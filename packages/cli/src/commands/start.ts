import { startServer } from '@valkey-tools/binaries';
import { type ValkeyConfigInput, mergeConfigs } from '@valkey-tools/config';
import { loadConfigFile } from '../config-file.js';
import { validatedSetFlags } from '../config-overrides.js';
import type { CommandContext } from '../main.js';
import { usageError } from '../errors.js';
import { homeOf } from '../servers.js';

export async function run({ flags, io, out, signal }: CommandContext<'start'>): Promise<number | undefined> {
  const overrides = validatedSetFlags(flags.set, 'start');
  const fromFile: ValkeyConfigInput = flags.config === undefined ? {} : loadConfigFile(flags.config, io);
  const config = mergeConfigs(fromFile, overrides);
  const filePort = Number(config.port);
  const options: Parameters<typeof startServer>[0] = {
    config,
    home: homeOf(io),
    resolve: { env: io.env, ...(flags.system ? { preferSystem: true } : {}) },
    // A CLI-started server outlives this command; it is recorded before the readiness wait, and
    // Ctrl-C while waiting stops it.
    detached: true,
    signal,
  };
  const passwordVar = flags['password-env'];
  if (passwordVar !== undefined) {
    const password = io.env[passwordVar];
    if (password === undefined || password === '') {
      throw usageError(
        'ERR_INVALID_ARGUMENT',
        `--password-env ${passwordVar}: that environment variable is not set`,
        'start',
      );
    }
    options.password = password;
  }
  if (flags.user !== undefined) {
    if (options.password === undefined) {
      throw usageError(
        'ERR_MISSING_ARGUMENT',
        '--user needs --password-env VAR (the variable holding its password)',
        'start',
      );
    }
    options.user = flags.user;
  }
  if (flags.name !== undefined) options.name = flags.name;
  if (flags.version !== undefined) options.version = flags.version;
  if (flags.port !== undefined) options.port = flags.port;
  else if (Number.isInteger(filePort) && filePort > 0) options.port = filePort;
  const server = await startServer(options);
  const { process: _child, command: _command, stop: _stop, ...record } = server;
  out.result(record, () => {
    out.line(server.url);
    out.info(
      `started "${server.name}": ${server.flavor} ${server.version}, pid ${server.pid}, data in ${server.dir}. ` +
        `Stop it with: valkey-tools stop ${server.name}`,
    );
  });
  return undefined;
}
