import { connect, type TlsFiles } from '@valkey-tools/core';
import { ConfigError } from './errors.js';
import type { ValkeyConfigInput } from './input.js';
import { inputToDirectives } from './model.js';
import { expectedLiveValues } from './normalize.js';
import { isParsedConfig, type ParsedConfig, type ParsedDirective } from './parse.js';
import { getDirective } from './schema.js';

export interface ConfigDifference {
  /** Canonical directive name. */
  directive: string;
  /** What the config says, in `CONFIG GET` form (bytes → text when valid UTF-8). */
  expected: string;
  /** What the server reports (`undefined`: the server does not know the directive). */
  actual: string | undefined;
  /** Where the config sets it (absent for object input or drift). */
  file?: string;
  line?: number;
  /** `CONFIG SET` can fix it without a restart. */
  settable: boolean;
  /** `config`: set in the config and different live; `drift`: not in the config, live differs from the default. */
  kind: 'config' | 'drift';
}

export interface DiffOptions {
  /** Also report directives the config leaves unset whose live value differs from the default. */
  drift?: boolean;
}

export interface FetchOptions {
  /** TLS files or PEM text (private CA, client certificate) for `rediss://`/`valkeys://`. */
  tls?: TlsFiles;
  /** Connection timeout in ms (default 5000). */
  timeoutMs?: number;
}

function display(binary: string): string {
  const bytes = Buffer.from(binary, 'latin1');
  return bytes.toString(Buffer.from(bytes.toString('utf8'), 'utf8').equals(bytes) ? 'utf8' : 'latin1');
}

function toBinary(value: string | Buffer): string {
  return typeof value === 'string' ? Buffer.from(value, 'utf8').toString('latin1') : value.toString('latin1');
}

/** Directives whose live value depends on the machine or the process, never "drift". */
const MACHINE_DEPENDENT = new Set([
  'dir',
  'port',
  'bind',
  'pidfile',
  'logfile',
  'daemonize',
  'unixsocket',
  'save',
  'appendonly',
  'maxclients',
  'enable-debug-command',
  'enable-protected-configs',
  'enable-module-command',
  'cluster-config-file',
  'syslog-ident',
]);

/**
 * Compares a config (object or parsed file) with a live server's `CONFIG GET *` (pass the map,
 * values as text or Buffers) and lists every directive whose live value differs from what the
 * config asks for.
 */
export function diffConfig(
  config: ValkeyConfigInput | ParsedConfig,
  live: Readonly<Record<string, string | Buffer>> | ReadonlyMap<string, string | Buffer>,
  options: DiffOptions = {},
): ConfigDifference[] {
  const directives: ParsedDirective[] = isParsedConfig(config)
    ? config.directives
    : inputToDirectives(config);
  const liveMap = new Map<string, string>();
  const entries = live instanceof Map ? [...live.entries()] : Object.entries(live);
  for (const [k, v] of entries) liveMap.set(k.toLowerCase(), toBinary(v));
  const expected = expectedLiveValues(directives);
  const out: ConfigDifference[] = [];
  for (const [name, { value, from }] of expected) {
    const actual = liveMap.get(name);
    if (actual === value) continue;
    out.push({
      directive: name,
      expected: display(value),
      actual: actual === undefined ? undefined : display(actual),
      ...(from.file ? { file: from.file, line: from.line } : {}),
      settable: getDirective(name)?.mutable ?? false,
      kind: 'config',
    });
  }
  if (options.drift) {
    for (const [name, actual] of liveMap) {
      const spec = getDirective(name);
      if (!spec || spec.aliasOf || expected.has(name) || spec.default === null || MACHINE_DEPENDENT.has(name))
        continue;
      if (actual === spec.default) continue;
      out.push({
        directive: name,
        expected: spec.default,
        actual: display(actual),
        settable: spec.mutable,
        kind: 'drift',
      });
    }
  }
  return out;
}

/** `CONFIG GET *` of a live server (values as raw bytes, latin1 strings). */
export async function fetchLiveConfig(url: string, options: FetchOptions = {}): Promise<Map<string, string>> {
  // A connection failure is core's ConnectionError (address, password hidden, what to check).
  const conn = await connect(url, {
    cluster: false,
    connectTimeoutMs: options.timeoutMs ?? 5000,
    ...(options.tls ? { tls: options.tls } : {}),
  });
  try {
    const reply = (await conn.client.callBuffer('CONFIG', 'GET', '*')) as Buffer[];
    const map = new Map<string, string>();
    for (let i = 0; i + 1 < reply.length; i += 2)
      map.set(reply[i]!.toString('latin1'), reply[i + 1]!.toString('latin1'));
    return map;
  } catch (cause) {
    throw new ConfigError(
      'ERR_CONFIG_SERVER',
      `Cannot read CONFIG GET * from ${conn.where}: ${(cause as Error).message}`,
      {
        cause,
        details: { url: conn.where },
        hint: 'CONFIG must not be renamed or denied by ACL for the user in the URL',
      },
    );
  } finally {
    await conn.close();
  }
}

/** `diffConfig` against the server at `url` (`redis://`, `valkey://`, `rediss://`, `unix://`). */
export async function diffWithServer(
  config: ValkeyConfigInput | ParsedConfig,
  url: string,
  options: DiffOptions & FetchOptions = {},
): Promise<ConfigDifference[]> {
  return diffConfig(config, await fetchLiveConfig(url, options), options);
}
