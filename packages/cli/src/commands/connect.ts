import { spawn } from 'node:child_process';
import { resolveBinary } from '@valkey-tools/binaries';
import {
  type ConnectionTarget,
  type SentinelNode,
  ValkeyToolsError,
  findSentinelNode,
  formatConnectionUrl,
  parseConnectionUrl,
} from '@valkey-tools/core';
import { connectionUrl, isSentinelUrl } from '../credentials.js';
import { CliError, usageError } from '../errors.js';
import type { CommandContext } from '../main.js';
import { findOnPath } from '../path-lookup.js';
import { findTarget } from '../servers.js';
import { tlsFromFlags, valkeyCliTlsArgs, withFlagsHint } from '../tls.js';

/** valkey-cli arguments for a target; the password goes through REDISCLI_AUTH, never argv. */
export function valkeyCliArgs(target: ConnectionTarget): { args: string[]; env: Record<string, string> } {
  const args: string[] = [];
  if (target.scheme === 'unix') args.push('-s', target.path ?? '');
  else args.push('-h', target.host, '-p', String(target.port));
  if (target.tls) args.push('--tls', '--sni', target.host);
  if (target.db !== 0) args.push('-n', String(target.db));
  if (target.username !== undefined) args.push('--user', target.username);
  const env: Record<string, string> = {};
  if (target.password !== undefined) env.REDISCLI_AUTH = target.password;
  return { args, env };
}

export async function run({
  args,
  flags,
  passthrough,
  io,
  out,
}: CommandContext<'connect'>): Promise<number | undefined> {
  const name = args[0];
  if ((name === undefined) === (flags.url === undefined)) {
    throw usageError(
      'ERR_MISSING_ARGUMENT',
      `connect needs a server name or --url URL (one of them). Run "valkey-tools connect --help"`,
      'connect',
    );
  }
  if (flags.replica && (flags.url === undefined || !isSentinelUrl(flags.url))) {
    throw usageError(
      'ERR_INVALID_ARGUMENT',
      '--replica needs a Sentinel URL (--url valkey+sentinel://host:port[,host:port...]/<primary-name>), which says where the replicas are. Run "valkey-tools connect --help"',
      'connect',
    );
  }
  const managed = flags.url === undefined ? await findTarget(name!, io) : undefined;
  const url = await connectionUrl(flags.url ?? managed!.url, flags, io, out, 'connect');
  // A cluster node: let valkey-cli follow MOVED/ASK redirections.
  const clusterMode = flags.cluster || managed?.cluster === true;
  let target = parseConnectionUrl(url);
  let sentinel: SentinelNode | undefined;
  if (target.sentinel) {
    // valkey-cli knows nothing of Sentinels: ask them for the node here, and hand its address over.
    const tls = tlsFromFlags(flags, io.cwd);
    sentinel = await findSentinelNode(url, {
      role: flags.replica ? 'replica' : 'primary',
      ...(tls ? { tls } : {}),
    }).catch((err: unknown) => {
      throw withFlagsHint(err);
    });
    const { sentinel: _spec, ...server } = target;
    target = { ...server, host: sentinel.host, port: sentinel.port };
    if (!flags.json) {
      const host = sentinel.host.includes(':') ? `[${sentinel.host}]` : sentinel.host;
      out.info(
        `${sentinel.role} ${host}:${sentinel.port} of ${sentinel.name} (Sentinel ${sentinel.answeredBy})`,
      );
    }
  }
  if (managed?.credentials) {
    // A managed server started with a password: use it (through REDISCLI_AUTH, never argv).
    target.password = managed.credentials.password;
    if (managed.credentials.user !== undefined) target.username = managed.credentials.user;
  }

  let program: string;
  let programArgs: string[];
  let extraEnv: Record<string, string> = {};
  const iredis = findOnPath('iredis', io.env);
  let useIredis = flags.iredis;
  let cliPath: string | undefined;
  if (!useIredis) {
    try {
      cliPath = (
        await resolveBinary({ name: 'valkey-cli', env: io.env, providers: ['explicit', 'cache', 'system'] })
      ).path;
    } catch (err) {
      if (!iredis) throw err;
      out.verbose(`no valkey-cli (${ValkeyToolsError.isInstance(err) ? err.code : 'error'}); using iredis`);
      useIredis = true;
    }
  }
  if (useIredis && valkeyCliTlsArgs(flags, io.cwd).length > 0) {
    const message =
      '--tls-ca, --tls-cert, --tls-key and --tls-insecure need valkey-cli (iredis takes no TLS files)';
    if (flags.iredis)
      throw usageError('ERR_INVALID_ARGUMENT', `${message}. Run "valkey-tools connect --help"`, 'connect');
    throw new CliError('ERR_NOT_AVAILABLE', `${message}, and no valkey-cli was found`, {
      hint: 'Install valkey-cli (valkey-tools install, or the valkey-tools package of your OS)',
    });
  }
  if (useIredis) {
    if (!iredis) {
      throw new CliError('ERR_NOT_FOUND', 'iredis is not installed (not found on PATH)', {
        hint: 'Install it with "pipx install iredis", or drop --iredis to use valkey-cli',
      });
    }
    program = iredis;
    programArgs = ['--url', formatConnectionUrl(target), ...passthrough];
  } else {
    const cli = valkeyCliArgs(target);
    const tls = valkeyCliTlsArgs(flags, io.cwd);
    // TLS files make the connection TLS, as they do for backup and restore (rediss:// or not).
    if (tls.length > 0 && !target.tls) tls.unshift('--tls');
    program = cliPath!;
    programArgs = [...cli.args, ...tls, ...(clusterMode ? ['-c'] : []), ...passthrough];
    extraEnv = cli.env;
  }
  if (flags.json) {
    // What would run, for a script that starts the shell itself: secrets stay in the environment
    // variables named here (set them yourself), never in this output.
    out.printJson({
      program,
      args: useIredis
        ? ['--url', formatConnectionUrl(target, { redact: true }), ...passthrough]
        : programArgs,
      env: Object.keys(extraEnv),
      url: formatConnectionUrl(target, { redact: true }),
      shell: useIredis ? 'iredis' : 'valkey-cli',
      cluster: clusterMode,
      ...(sentinel ? { sentinel } : {}),
    });
    return undefined;
  }
  out.verbose(
    `running ${program} ${useIredis ? '--url ' + formatConnectionUrl(target, { redact: true }) : programArgs.join(' ')}`,
  );
  return await new Promise<number>((resolve, reject) => {
    const child = spawn(program, programArgs, { stdio: 'inherit', env: { ...io.env, ...extraEnv } });
    // The shell owns the terminal: Ctrl-C is its business, not ours.
    const ignore = () => {};
    process.on('SIGINT', ignore);
    child.on('error', (err) => {
      process.off('SIGINT', ignore);
      reject(new CliError('ERR_FAILED', `cannot run ${program}: ${err.message}`, { cause: err }));
    });
    child.on('exit', (code, sig) => {
      process.off('SIGINT', ignore);
      resolve(code ?? (sig ? 128 + 2 : 1));
    });
  });
}
