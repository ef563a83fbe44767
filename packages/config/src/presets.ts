import { posix, win32 } from 'node:path';
import { type OsPlatform, toCygwinPath } from '@valkey-tools/core';
import { ConfigError } from './errors.js';
import type { ValkeyConfigInput } from './input.js';
import { canonicalName } from './schema.js';
import type { MemoryValue } from './values.js';

export type PresetName = 'spindb-default' | 'cache' | 'durable' | 'cluster-node' | 'replica' | 'tls';

export const PRESET_NAMES: readonly PresetName[] = [
  'spindb-default',
  'cache',
  'durable',
  'cluster-node',
  'replica',
  'tls',
];

export interface PresetOptions {
  /** TCP port (default 6379; `replica`: 6380; the `tls` preset sets it to 0 unless given). */
  port?: number;
  /** Addresses to listen on (default `127.0.0.1`). */
  bind?: string | readonly string[];
  /** Working directory for RDB/AOF files (default `.`). */
  dir?: string;
  /** Target platform: decides `daemonize` and path separators (default: this machine). */
  platform?: OsPlatform;
  /**
   * On Windows, how paths are written: `cygwin` (default; `C:\\data` → `/cygdrive/c/data`, what the
   * Cygwin-built valkey-server for Windows understands) or `native` (left as given).
   */
  windowsPaths?: 'cygwin' | 'native';
  /**
   * `spindb-default` writes `daemonize yes` on Unix; pass `false` to run in the foreground (what a
   * supervising process wants). Never written on Windows.
   */
  daemonize?: boolean;
  /** Log file (`spindb-default`: `<dir>/valkey.log`; others: not set, i.e. stdout). */
  logfile?: string;
  /** Pid file (`spindb-default`: `<dir>/valkey.pid`). */
  pidfile?: string;
  /** `cache`: memory limit (default `256mb`). Any preset: sets `maxmemory`. */
  maxmemory?: MemoryValue;
  /** `cache`: eviction policy (default `allkeys-lru`). */
  maxmemoryPolicy?:
    | 'allkeys-lru'
    | 'allkeys-lfu'
    | 'allkeys-random'
    | 'volatile-lru'
    | 'volatile-lfu'
    | 'volatile-random'
    | 'volatile-ttl'
    | 'noeviction';
  /** `replica`: the primary to replicate from (default `127.0.0.1:6379`). */
  primary?: { host: string; port: number } | string;
  /** `replica`: password for the primary (`masterauth`). */
  primaryAuth?: string;
  /** `replica`: ACL user for the primary (`masteruser`). */
  primaryUser?: string;
  /** `cluster-node`: node timeout in ms (default 5000). */
  clusterNodeTimeout?: number;
  /** `cluster-node`: nodes file (default `nodes-<port>.conf`, in `dir`). */
  clusterConfigFile?: string;
  /** `tls`: certificate files and TLS port (default `port + 1` or 6380). */
  tls?: {
    port?: number;
    certFile: string;
    keyFile: string;
    caCertFile?: string;
    /** `yes` (default), `no` or `optional`. */
    authClients?: 'yes' | 'no' | 'optional';
  };
}

interface Paths {
  /** A path as the server should see it. */
  server(path: string): string;
  /** `<dir>/<name>` as the server should see it. */
  inDir(dir: string, name: string): string;
}

function pathsFor(options: PresetOptions, platform: OsPlatform): Paths {
  if (platform !== 'win32') return { server: (p) => p, inDir: (dir, name) => posix.join(dir, name) };
  if (options.windowsPaths === 'native')
    return { server: (p) => p, inDir: (dir, name) => win32.join(dir, name) };
  return {
    server: (p) => (p === '' ? p : toCygwinPath(p)),
    inDir: (dir, name) => posix.join(toCygwinPath(dir), name),
  };
}

function base(options: PresetOptions, paths: Paths): ValkeyConfigInput {
  const config: ValkeyConfigInput = {
    port: options.port ?? 6379,
    bind: options.bind ?? '127.0.0.1',
    dir: paths.server(options.dir ?? '.'),
  };
  return config;
}

function withOptional(config: ValkeyConfigInput, extra: Record<string, unknown>): ValkeyConfigInput {
  const out = config as Record<string, unknown>;
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) out[k] = v;
  return config;
}

const SPINDB_SAVE = [
  [900, 1],
  [300, 10],
  [60, 10000],
] as const;

/**
 * A ready-made config as plain data. Presets compose with overrides: spread the result and add
 * or replace directives (`{ ...preset('cache'), maxmemory: '1gb' }`), or use `mergeConfigs`.
 */
export function preset(name: PresetName, options: PresetOptions = {}): ValkeyConfigInput {
  const platform = options.platform ?? (process.platform as OsPlatform);
  const paths = pathsFor(options, platform);
  const dir = options.dir ?? '.';
  const logfile = options.logfile === undefined ? undefined : paths.server(options.logfile);
  const pidfile = options.pidfile === undefined ? undefined : paths.server(options.pidfile);
  switch (name) {
    case 'spindb-default': {
      // SpinDB's template, line for line: port, bind, dir, daemonize (Unix only), logfile, pidfile,
      // three save points, dbfilename, appendonly.
      const config = base(options, paths);
      if (platform !== 'win32') config.daemonize = options.daemonize ?? true;
      config.logfile = logfile ?? paths.inDir(dir, 'valkey.log');
      config.pidfile = pidfile ?? paths.inDir(dir, 'valkey.pid');
      config.save = SPINDB_SAVE;
      config.dbfilename = 'dump.rdb';
      config.appendonly = false;
      return withOptional(config, { maxmemory: options.maxmemory });
    }
    case 'cache':
      return withOptional(base(options, paths), {
        daemonize: daemonizeOption(options, platform),
        logfile,
        pidfile,
        maxmemory: options.maxmemory ?? '256mb',
        'maxmemory-policy': options.maxmemoryPolicy ?? 'allkeys-lru',
        save: '',
        appendonly: false,
      });
    case 'durable':
      return withOptional(base(options, paths), {
        daemonize: daemonizeOption(options, platform),
        logfile,
        pidfile,
        maxmemory: options.maxmemory,
        save: SPINDB_SAVE,
        dbfilename: 'dump.rdb',
        rdbchecksum: true,
        'stop-writes-on-bgsave-error': true,
        appendonly: true,
        appendfsync: 'everysec',
        'aof-use-rdb-preamble': true,
        'aof-load-truncated': true,
      });
    case 'cluster-node': {
      const port = options.port ?? 6379;
      return withOptional(base(options, paths), {
        daemonize: daemonizeOption(options, platform),
        logfile,
        pidfile,
        maxmemory: options.maxmemory,
        'cluster-enabled': true,
        'cluster-config-file': options.clusterConfigFile ?? `nodes-${port}.conf`,
        'cluster-node-timeout': options.clusterNodeTimeout ?? 5000,
        'cluster-require-full-coverage': true,
        appendonly: true,
        appendfsync: 'everysec',
      });
    }
    case 'replica': {
      const primary = options.primary ?? { host: '127.0.0.1', port: 6379 };
      // next to a default primary on this machine, listen one port up rather than on its port
      const config = base({ ...options, port: options.port ?? 6380 }, paths);
      return withOptional(config, {
        daemonize: daemonizeOption(options, platform),
        logfile,
        pidfile,
        maxmemory: options.maxmemory,
        replicaof: primary,
        masterauth: options.primaryAuth,
        masteruser: options.primaryUser,
        'replica-read-only': true,
        'replica-serve-stale-data': true,
      });
    }
    case 'tls': {
      if (!options.tls?.certFile || !options.tls.keyFile) {
        throw new ConfigError('ERR_CONFIG_PRESET', 'The "tls" preset needs a certificate and a key', {
          details: { preset: name },
          hint: 'Pass preset("tls", { tls: { certFile, keyFile, caCertFile } })',
        });
      }
      const config = base(options, paths);
      config.port = options.port ?? 0;
      return withOptional(config, {
        daemonize: daemonizeOption(options, platform),
        logfile,
        pidfile,
        maxmemory: options.maxmemory,
        'tls-port': options.tls.port ?? (options.port ? options.port + 1 : 6380),
        'tls-cert-file': paths.server(options.tls.certFile),
        'tls-key-file': paths.server(options.tls.keyFile),
        'tls-ca-cert-file':
          options.tls.caCertFile === undefined ? undefined : paths.server(options.tls.caCertFile),
        'tls-auth-clients': options.tls.authClients ?? (options.tls.caCertFile ? 'yes' : 'no'),
        'tls-replication': true,
        'tls-cluster': true,
      });
    }
    default:
      throw new ConfigError('ERR_CONFIG_PRESET', `Unknown preset "${String(name)}"`, {
        details: { preset: name },
        hint: `Use one of ${PRESET_NAMES.join(', ')}`,
      });
  }
}

function daemonizeOption(options: PresetOptions, platform: OsPlatform): boolean | undefined {
  if (platform === 'win32') return undefined;
  return options.daemonize;
}

/**
 * Merges configs left to right: later keys replace earlier ones (whole values, so a later `save`
 * replaces all save points), whatever name they use (`slaveof` replaces `replicaof`, `MAXMEMORY`
 * replaces `maxmemory`); `undefined` removes a directive.
 */
export function mergeConfigs(...configs: ReadonlyArray<ValkeyConfigInput | undefined>): ValkeyConfigInput {
  // Names as written (any case, aliases, untypedDirectives()): merged as an untyped record.
  const out: Record<string, unknown> = {};
  for (const config of configs) {
    if (!config) continue;
    for (const [k, v] of Object.entries(config)) {
      const canonical = canonicalName(k);
      // another spelling of the same directive goes; the same spelling keeps its place
      for (const existing of Object.keys(out))
        if (existing !== k && canonicalName(existing) === canonical) delete out[existing];
      if (v === undefined) delete out[k];
      else out[k] = v;
    }
  }
  return out as ValkeyConfigInput;
}
