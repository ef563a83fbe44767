/**
 * Every `valkey-tools` command as data: the parser, `--help` and the documentation site's CLI
 * reference are all generated from this one table, so they cannot drift apart.
 *
 * Command names and flags listed here are a contract users script against: add, never rename.
 */

export type FlagType = 'string' | 'boolean' | 'integer';

export interface FlagDefinition {
  /** Long name without dashes: `mirror` is `--mirror`. */
  readonly name: string;
  /** One-letter alias without the dash: `o` is `-o`. */
  readonly short?: string;
  readonly type: FlagType;
  /** May be given more than once (`--set a=1 --set b=2`); the value is then an array. */
  readonly multiple?: boolean;
  readonly default?: string | number | boolean;
  /** Placeholder shown in help: `--mirror URL`. */
  readonly valueName?: string;
  /** Allowed values (string flags). */
  readonly choices?: readonly string[];
  /** Smallest accepted value (integer flags). */
  readonly min?: number;
  /** Largest accepted value (integer flags). */
  readonly max?: number;
  /** The command cannot run without it. */
  readonly required?: boolean;
  readonly description: string;
}

export interface ArgumentDefinition {
  /** Shown in help in upper case: `FILE`. */
  readonly name: string;
  readonly required: boolean;
  readonly description: string;
}

export interface ExampleDefinition {
  readonly command: string;
  readonly description: string;
}

export type CommandGroup = 'binaries' | 'servers' | 'config' | 'data' | 'kvcache';

export interface CommandDefinition {
  /** The words typed after `valkey-tools`: `backup`, `cluster create`. */
  readonly name: string;
  readonly group: CommandGroup;
  /** One line, shown in the command list. */
  readonly summary: string;
  /** A paragraph shown in the command's own help. */
  readonly description?: string;
  /** The synopsis after `valkey-tools`, as in the contract: `backup --url URL -o FILE [...]`. */
  readonly usage: string;
  readonly args: readonly ArgumentDefinition[];
  readonly flags: readonly FlagDefinition[];
  readonly examples: readonly ExampleDefinition[];
}

export interface CommandGroupDefinition {
  readonly name: CommandGroup;
  readonly title: string;
}

export const commandGroups: readonly CommandGroupDefinition[] = [
  { name: 'binaries', title: 'Binaries' },
  { name: 'servers', title: 'Servers and clusters' },
  { name: 'config', title: 'Configuration' },
  { name: 'data', title: 'Backup, restore and RDB files' },
  { name: 'kvcache', title: 'KV-cache index' },
];

/** What the exit status of `valkey-tools` means (the same for every command). */
export const exitCodes = [
  { code: 0, meaning: 'Success' },
  { code: 1, meaning: 'The operation failed or found problems (invalid file, differences, failed keys)' },
  { code: 2, meaning: 'Usage error: unknown command or option, missing or bad argument (see --help)' },
  { code: 130, meaning: 'Interrupted (Ctrl-C); files being written are not left looking complete' },
] as const;

/** Flags every command accepts. */
export const globalFlags = [
  { name: 'help', short: 'h', type: 'boolean', description: 'Show help for the command and exit' },
  {
    name: 'verbose',
    type: 'boolean',
    description: 'Print the stack trace of errors and more detail about what happens',
  },
  { name: 'no-color', type: 'boolean', description: 'Never colour the output (same as NO_COLOR=1)' },
] as const satisfies readonly FlagDefinition[];

const json = {
  name: 'json',
  type: 'boolean',
  description: 'Print only JSON on stdout (stable camelCase keys)',
} as const satisfies FlagDefinition;

const url = (description: string) =>
  ({ name: 'url', type: 'string', valueName: 'URL', description }) as const satisfies FlagDefinition;

const requiredUrl = (description: string) =>
  ({
    name: 'url',
    type: 'string',
    valueName: 'URL',
    required: true,
    description,
  }) as const satisfies FlagDefinition;

/**
 * Credentials kept out of the URL (so out of `ps` and shell history). Precedence, for each of the
 * password and the user: the flag, then the URL, then VALKEY_TOOLS_PASSWORD / VALKEY_TOOLS_USER.
 * A Sentinel URL (`valkey+sentinel://`) also takes the Sentinels' own password and user, by the
 * same rules: the flag, then the URL's query, then VALKEY_TOOLS_SENTINEL_PASSWORD / _USER.
 */
const credentialFlags = [
  {
    name: 'password-file',
    type: 'string',
    valueName: 'FILE',
    description:
      'Read the password from FILE (its first line; - for stdin) instead of the URL; default VALKEY_TOOLS_PASSWORD',
  },
  {
    name: 'user',
    type: 'string',
    valueName: 'NAME',
    description: "ACL user name (instead of the URL's); default VALKEY_TOOLS_USER",
  },
  {
    name: 'sentinel-password-file',
    type: 'string',
    valueName: 'FILE',
    description:
      "With a Sentinel URL: read the Sentinels' password from FILE (its first line; - for stdin) instead of the URL's sentinelPassword; default VALKEY_TOOLS_SENTINEL_PASSWORD",
  },
  {
    name: 'sentinel-user',
    type: 'string',
    valueName: 'NAME',
    description:
      "With a Sentinel URL: the Sentinels' ACL user (instead of the URL's sentinelUsername); default VALKEY_TOOLS_SENTINEL_USER",
  },
] as const satisfies readonly FlagDefinition[];

/** restore/convert: what to do with a command file cut off in its last command. */
const truncated = {
  name: 'truncated',
  type: 'string',
  valueName: 'WHAT',
  choices: ['error', 'drop'],
  default: 'error',
  description:
    'An incomplete last command (a file cut off while being written): fail, or drop it and go on, like valkey-check-aof --fix',
} as const satisfies FlagDefinition;

const db = {
  name: 'db',
  type: 'integer',
  valueName: 'N',
  min: 0,
  description: 'Only this database (default: all)',
} as const satisfies FlagDefinition;

const match = {
  name: 'match',
  type: 'string',
  valueName: 'GLOB',
  description: 'Only keys matching this glob pattern (SCAN MATCH syntax: * ? [abc] \\x)',
} as const satisfies FlagDefinition;

/** TLS files for rediss:// / valkeys:// URLs (backup, restore, connect, config diff). */
const tlsFlags = [
  {
    name: 'tls-ca',
    type: 'string',
    valueName: 'FILE',
    description: 'With rediss://: the CA certificate (PEM) that signed the server certificate',
  },
  {
    name: 'tls-cert',
    type: 'string',
    valueName: 'FILE',
    description: 'With rediss://: client certificate (PEM), for servers with tls-auth-clients',
  },
  {
    name: 'tls-key',
    type: 'string',
    valueName: 'FILE',
    description: 'With rediss://: client private key (PEM)',
  },
  {
    name: 'tls-insecure',
    type: 'boolean',
    description: 'With rediss://: do not verify the server certificate (testing only)',
  },
] as const satisfies readonly FlagDefinition[];

const valueTypes = ['string', 'list', 'set', 'zset', 'hash', 'stream', 'module'] as const;

const keyType = {
  name: 'type',
  type: 'string',
  valueName: 'T',
  choices: valueTypes,
  description: 'Only keys of this type',
} as const satisfies FlagDefinition;

const set = {
  name: 'set',
  type: 'string',
  multiple: true,
  valueName: 'key=value',
  description: 'Set a valkey.conf directive: --set maxmemory=256mb',
} as const satisfies FlagDefinition;

const systemFlag = {
  name: 'system',
  type: 'boolean',
  description:
    "Use the system's valkey-server (PATH) before an installed build (also VALKEY_TOOLS_SYSTEM_BINARY=system)",
} as const satisfies FlagDefinition;

/** Formats a file may hold: `resp` is `.valkey`/`.resp`, `readable` one command per line (`.txt`); `aof` is read only. */
export const fileFormats = ['rdb', 'resp', 'readable', 'jsonl', 'aof'] as const;
export const outputFormats = ['rdb', 'resp', 'readable', 'jsonl'] as const;
export type FileFormat = (typeof fileFormats)[number];

export const commands = [
  // --- binaries ---------------------------------------------------------------------------------
  {
    name: 'install',
    group: 'binaries',
    summary: 'Download, verify and cache a valkey-server',
    description:
      'Resolves VERSION (8, 8.0, 8.0.1 or latest) and makes sure a verified valkey-server of that version is ' +
      'in the cache (VALKEY_TOOLS_HOME, default ~/.valkey-tools), downloading it from the mirror ' +
      '(--mirror or VALKEY_TOOLS_MIRROR) or the official release tarballs. A version already cached is reused. ' +
      'Downloads are checked against their sha256 and resume after network errors.',
    usage: 'install [version] [--mirror URL] [--offline] [--json]',
    args: [{ name: 'version', required: false, description: 'Version to install (default: latest)' }],
    flags: [
      {
        name: 'mirror',
        type: 'string',
        valueName: 'URL',
        description: 'Download from this mirror (hostdb layout); default VALKEY_TOOLS_MIRROR',
      },
      {
        name: 'offline',
        type: 'boolean',
        description: 'Never touch the network (same as VALKEY_TOOLS_OFFLINE=1)',
      },
      { name: 'force', type: 'boolean', description: 'Download and install again even if already cached' },
      json,
    ],
    examples: [
      { command: 'valkey-tools install 8.0', description: 'install the newest known 8.0.x' },
      {
        command: 'valkey-tools install 8.0.1 --mirror https://mirror.internal/valkey',
        description: 'install from a private mirror',
      },
    ],
  },
  {
    name: 'which',
    group: 'binaries',
    summary: 'Print the path of the valkey-server that would be used, and why',
    description:
      'Prints the path on stdout and, on stderr, why it was chosen and what else was found. Order: ' +
      'VALKEY_TOOLS_SYSTEM_BINARY when it names a binary, then a build installed in the cache (valkey-tools ' +
      'install), then PATH and the usual install dirs. --system (or VALKEY_TOOLS_SYSTEM_BINARY=system) puts ' +
      'the system binary before the cache. Never downloads.',
    usage: 'which [version] [--system] [--json]',
    args: [{ name: 'version', required: false, description: 'Version wanted (default: any)' }],
    flags: [systemFlag, json],
    examples: [{ command: 'valkey-tools which 8', description: 'where is a valkey-server 8.x?' }],
  },
  {
    name: 'versions',
    group: 'binaries',
    summary: 'List known and installed Valkey versions, and what a mirror offers',
    description:
      'With a mirror (--mirror or VALKEY_TOOLS_MIRROR) the list comes from its releases.json, which is also ' +
      'saved in the cache so later runs (offline too) know those versions; an unreachable mirror is a ' +
      'warning, and the saved list is shown. VALKEY_TOOLS_VERSION sets the version used when none is given ' +
      '(install, which, start).',
    usage: 'versions [--mirror URL|DIR] [--json]',
    args: [],
    flags: [
      {
        name: 'mirror',
        type: 'string',
        valueName: 'URL',
        description: 'Mirror whose releases.json to read (default VALKEY_TOOLS_MIRROR)',
      },
      json,
    ],
    examples: [{ command: 'valkey-tools versions --json', description: 'versions as JSON' }],
  },
  {
    name: 'mirror add',
    group: 'binaries',
    summary: 'Package binaries you have into a mirror directory',
    description:
      'Archives a directory holding valkey-server, valkey-cli, ... into MIRROR_DIR in the hostdb mirror ' +
      'layout and merges its entry (url, sha256, size) into MIRROR_DIR/releases.json. Serve the directory ' +
      'over HTTP and point --mirror or VALKEY_TOOLS_MIRROR at it.',
    usage: 'mirror add --binaries DIR --version V --platform P-A --out MIRROR_DIR [--json]',
    args: [],
    flags: [
      {
        name: 'binaries',
        type: 'string',
        valueName: 'DIR',
        required: true,
        description: 'Directory holding valkey-server and friends',
      },
      {
        name: 'version',
        type: 'string',
        valueName: 'V',
        required: true,
        description: 'The version of those binaries, e.g. 8.0.1',
      },
      {
        name: 'platform',
        type: 'string',
        valueName: 'P-A',
        required: true,
        description: 'Platform and arch they run on: linux-x64, darwin-arm64, win32-x64...',
      },
      {
        name: 'out',
        type: 'string',
        valueName: 'MIRROR_DIR',
        required: true,
        description: 'Mirror directory to create or extend',
      },
      json,
    ],
    examples: [
      {
        command:
          'valkey-tools mirror add --binaries /usr/bin --version 8.0.1 --platform linux-x64 --out ./mirror',
        description: 'package the system binaries',
      },
    ],
  },
  // --- servers ----------------------------------------------------------------------------------
  {
    name: 'start',
    group: 'servers',
    summary: 'Start a managed valkey-server',
    description:
      'Starts a valkey-server in the background, records it (before waiting, so list and stop --all know ' +
      'it even if this command is killed), waits until it answers PING and prints its URL. If the port ' +
      'is taken, the next free one upward is used. With requirepass (--set or --config) the readiness ' +
      'check authenticates with it; an ACL user is given with --user and its password with --password-env. ' +
      "The data dir is the config file's dir directive if it has one, else one of its own. The binary is " +
      'chosen as "which" explains. The server keeps running after this command exits.',
    usage:
      'start [--name N] [--port P] [--version V] [--config FILE] [--set key=value]... [--user U --password-env VAR] [--json]',
    args: [],
    flags: [
      {
        name: 'name',
        type: 'string',
        valueName: 'N',
        description: 'Name of the server (default: generated)',
      },
      {
        name: 'port',
        type: 'integer',
        valueName: 'P',
        min: 1,
        max: 65535,
        description: 'First port to try (default 6379)',
      },
      {
        name: 'version',
        type: 'string',
        valueName: 'V',
        description: 'valkey-server version to run (default: any found)',
      },
      {
        name: 'config',
        type: 'string',
        valueName: 'FILE',
        description: 'Start from this valkey.conf (validated first)',
      },
      set,
      systemFlag,
      {
        name: 'user',
        type: 'string',
        valueName: 'U',
        description: 'ACL user the readiness check and stop authenticate as (needs --password-env)',
      },
      {
        name: 'password-env',
        type: 'string',
        valueName: 'VAR',
        description:
          'Environment variable holding the password to authenticate with (default: the requirepass directive)',
      },
      json,
    ],
    examples: [
      { command: 'valkey-tools start --name dev', description: 'start a server named dev' },
      {
        command: 'valkey-tools start --name secure --set requirepass=s3cret',
        description: 'a server that asks for a password',
      },
      {
        command: 'valkey-tools start --port 7000 --set maxmemory=256mb --set maxmemory-policy=allkeys-lru',
        description: 'a cache on port 7000 (or the next free one)',
      },
    ],
  },
  {
    name: 'stop',
    group: 'servers',
    summary: 'Stop a managed server (or all of them)',
    description:
      'Stops a server as its config says: with save points (the default preset has them) it saves an RDB ' +
      'snapshot first, with appendonly it flushes the AOF, so a later start with the same name finds the ' +
      'data. --save saves even without save points; --nosave discards what was written since the last save.',
    usage: 'stop <name> | --all [--save | --nosave]',
    args: [{ name: 'name', required: false, description: 'Name of the server to stop' }],
    flags: [
      { name: 'all', type: 'boolean', description: 'Stop every managed server and cluster' },
      {
        name: 'save',
        type: 'boolean',
        description: 'Save an RDB snapshot before stopping, even without save points in the config',
      },
      {
        name: 'nosave',
        type: 'boolean',
        description:
          'Do not save: discard what was written since the last save (default: as the config says)',
      },
      json,
    ],
    examples: [
      { command: 'valkey-tools stop dev', description: 'stop the server named dev' },
      { command: 'valkey-tools stop --all', description: 'stop everything valkey-tools started' },
    ],
  },
  {
    name: 'list',
    group: 'servers',
    summary: 'List managed servers',
    usage: 'list [--json]',
    args: [],
    flags: [json],
    examples: [
      {
        command: 'valkey-tools list',
        description: 'each server: name, URL, pid, version, uptime; then each cluster',
      },
    ],
  },
  {
    name: 'info',
    group: 'servers',
    summary: 'Show details of a managed server',
    usage: 'info <name> [--json]',
    args: [{ name: 'name', required: true, description: 'Name of the server' }],
    flags: [json],
    examples: [{ command: 'valkey-tools info dev --json', description: 'details of dev as JSON' }],
  },
  {
    name: 'url',
    group: 'servers',
    summary: 'Print the connection URL of a managed server',
    description:
      'Prints the URL without the password of a server started with one (a note on stderr says so); ' +
      '--with-password puts it in the URL, for a script that needs one string. connect and stop ' +
      'take the server name and find the password themselves.',
    usage: 'url <name> [--with-password] [--json]',
    args: [{ name: 'name', required: true, description: 'Name of the server' }],
    flags: [
      {
        name: 'with-password',
        type: 'boolean',
        description: 'Include the password of a server started with one (the output is then a secret)',
      },
      json,
    ],
    examples: [
      { command: 'export VALKEY_URL=$(valkey-tools url dev)', description: 'use it in a script' },
      {
        command: 'export VALKEY_URL=$(valkey-tools url dev --with-password)',
        description: 'the same for a server started with --password-env',
      },
    ],
  },
  {
    name: 'connect',
    group: 'servers',
    summary: 'Open an interactive shell (valkey-cli or iredis) on a server',
    description:
      'Runs valkey-cli (found the way valkey-server is found) against a managed server or a URL, selecting ' +
      'the db in the URL. iredis is used when asked for with --iredis, or when no valkey-cli is found. ' +
      'A Sentinel URL (valkey+sentinel://host:port,.../<primary-name>) connects to the server the Sentinels ' +
      'name as the primary now (--replica: a replica). ' +
      'Arguments after -- are passed to the shell: valkey-tools connect dev -- PING',
    usage:
      'connect <name> | --url URL [--iredis] [--tls-ca FILE --tls-cert FILE --tls-key FILE] [--json] [-- SHELL_ARGS...]',
    args: [{ name: 'name', required: false, description: 'Name of a managed server' }],
    flags: [
      url('Connect to this URL instead of a managed server'),
      ...credentialFlags,
      ...tlsFlags,
      { name: 'iredis', type: 'boolean', description: 'Use iredis instead of valkey-cli' },
      {
        name: 'cluster',
        type: 'boolean',
        description:
          'The URL is a cluster node: follow redirections (valkey-cli -c; automatic for managed clusters)',
      },
      {
        name: 'replica',
        type: 'boolean',
        description:
          'With a Sentinel URL: connect to a replica (the most up-to-date healthy one) instead of the primary',
      },
      {
        name: 'json',
        type: 'boolean',
        description:
          'Print the shell command it would run as JSON (program, args, the names of the environment variables it sets; never the password) instead of running it',
      },
    ],
    examples: [
      { command: 'valkey-tools connect dev', description: 'valkey-cli on the server named dev' },
      { command: 'valkey-tools connect dev -- DBSIZE', description: 'one command, not interactive' },
      {
        command: 'valkey-tools connect --url redis://:secret@db.internal:6379/2',
        description: 'a remote server, db 2',
      },
      {
        command: 'valkey-tools connect --url rediss://cache.example:6380 --tls-ca ca.crt -- PING',
        description: 'a TLS server, its certificate checked against ca.crt',
      },
      {
        command:
          'valkey-tools connect --url valkey+sentinel://s1:26379,s2:26379,s3:26379/mymaster --sentinel-password-file sentinel.pw -- INFO replication',
        description: 'the current primary of a Sentinel-managed deployment',
      },
    ],
  },
  {
    name: 'cluster create',
    group: 'servers',
    summary: 'Start a local Valkey Cluster',
    description:
      'Starts primaries and replicas with cluster-enabled, assigns all 16384 slots, joins them and waits ' +
      'for cluster_state:ok on every node. The cluster is recorded before its first node starts, so if this ' +
      'command is killed, list shows it and stop --all ends it; Ctrl-C stops every node started so far. ' +
      'Without --name, the first free name cluster-1, cluster-2... is used: a stopped cluster keeps its ' +
      'node directories (its data), and a new cluster never starts over them (a --name whose directories ' +
      'hold files is refused). --set applies a directive to every node; with requirepass the nodes are ' +
      'set up with it and replicas get it as masterauth (clients then pass it: VALKEY_TOOLS_PASSWORD or ' +
      '--password-file).',
    usage:
      'cluster create [--name N] [--primaries 3] [--replicas 1] [--port P] [--set key=value]... [--json]',
    args: [],
    flags: [
      {
        name: 'name',
        type: 'string',
        valueName: 'N',
        description: 'Name of the cluster (default: generated, cluster-1, cluster-2...)',
      },
      {
        name: 'primaries',
        type: 'integer',
        valueName: 'N',
        default: 3,
        min: 1,
        max: 100,
        description: 'Number of primaries',
      },
      {
        name: 'replicas',
        type: 'integer',
        valueName: 'N',
        default: 1,
        min: 0,
        max: 10,
        description: 'Replicas per primary',
      },
      {
        name: 'port',
        type: 'integer',
        valueName: 'P',
        min: 1,
        max: 65535,
        description: 'First port (default: 7000, or the next free range)',
      },
      set,
      systemFlag,
      json,
    ],
    examples: [
      { command: 'valkey-tools cluster create --name c1', description: '3 primaries, 3 replicas' },
      {
        command: 'valkey-tools cluster create --name secure --set requirepass=s3cret --set maxmemory=256mb',
        description: 'nodes that ask for a password, each with a memory limit',
      },
      {
        command: 'valkey-tools cluster create --primaries 3 --replicas 0 --port 30000 --json',
        description: 'no replicas, from port 30000, as JSON',
      },
    ],
  },
  {
    name: 'cluster stop',
    group: 'servers',
    summary: 'Stop a local cluster',
    description:
      "Stops every node of the cluster. Its node directories and their data stay in the cluster's " +
      'directory ("dir" in cluster create --json); remove it when the data is no longer needed.',
    usage: 'cluster stop <name>',
    args: [{ name: 'name', required: true, description: 'Name of the cluster' }],
    flags: [json],
    examples: [{ command: 'valkey-tools cluster stop c1', description: 'stop every node of c1' }],
  },
  // --- config -----------------------------------------------------------------------------------
  {
    name: 'config init',
    group: 'config',
    summary: 'Write a valkey.conf from a preset',
    usage: 'config init [--preset P] [--set key=value]... [-o FILE]',
    args: [],
    flags: [
      {
        name: 'preset',
        type: 'string',
        valueName: 'P',
        default: 'spindb-default',
        choices: ['spindb-default', 'cache', 'durable', 'cluster-node', 'replica', 'tls'],
        description: 'Preset to start from; --set overrides its directives',
      },
      set,
      {
        name: 'output',
        short: 'o',
        type: 'string',
        valueName: 'FILE',
        description: 'Write to FILE (default: stdout); never overwrites without --force',
      },
      { name: 'force', type: 'boolean', description: 'Overwrite FILE if it exists' },
      {
        name: 'tls-cert',
        type: 'string',
        valueName: 'FILE',
        description: 'Server certificate (the tls preset needs it and --tls-key)',
      },
      { name: 'tls-key', type: 'string', valueName: 'FILE', description: "The certificate's private key" },
      {
        name: 'tls-ca',
        type: 'string',
        valueName: 'FILE',
        description: 'CA that signs client certificates (then clients must present one)',
      },
      {
        name: 'tls-port',
        type: 'integer',
        valueName: 'P',
        min: 1,
        max: 65535,
        description: 'TLS port (default 6380)',
      },
      json,
    ],
    examples: [
      {
        command:
          'valkey-tools config init --preset tls --tls-cert server.crt --tls-key server.key --tls-ca ca.crt -o valkey.conf',
        description: 'TLS only, clients with certificates signed by ca.crt',
      },
      {
        command: 'valkey-tools config init --preset cache --set maxmemory=1gb -o valkey.conf',
        description: 'a 1 GB LRU cache',
      },
    ],
  },
  {
    name: 'config check',
    group: 'config',
    summary: 'Validate a valkey.conf',
    description:
      'Parses FILE (following include) and reports unknown directives, wrong types, out-of-range values, ' +
      'repeated single-value directives and conflicts, each with file:line. Exit code 1 when any is found.',
    usage: 'config check FILE [--json]',
    args: [{ name: 'file', required: true, description: 'The valkey.conf to check' }],
    flags: [json],
    examples: [
      {
        command: 'valkey-tools config check /etc/valkey/valkey.conf',
        description: 'list every problem with file:line; exit code 1 if any is an error',
      },
    ],
  },
  {
    name: 'config diff',
    group: 'config',
    summary: 'Compare a valkey.conf with a running server',
    description:
      'Lists the directives whose value in FILE differs from CONFIG GET on the server, and the server values ' +
      'that differ from the default where FILE is silent (a restart with FILE would lose them). Exit code 1 ' +
      'when anything differs, so scripts can detect drift. A Sentinel URL compares with the current primary.',
    usage: 'config diff FILE --url URL [--json]',
    args: [{ name: 'file', required: true, description: 'The valkey.conf to compare' }],
    flags: [
      requiredUrl('Server to compare with'),
      ...credentialFlags,
      ...tlsFlags,
      {
        name: 'file-only',
        type: 'boolean',
        description: 'Only compare the directives FILE sets (not server values FILE is silent about)',
      },
      json,
    ],
    examples: [
      {
        command: 'valkey-tools config diff valkey.conf --url redis://127.0.0.1:6379',
        description: 'what the server runs with that the file does not say',
      },
      {
        command:
          'valkey-tools config diff valkey.conf --url valkey+sentinel://s1:26379,s2:26379/mymaster --password-file server.pw',
        description: 'the primary a pair of Sentinels names now',
      },
    ],
  },
  // --- data -------------------------------------------------------------------------------------
  {
    name: 'backup',
    group: 'data',
    summary: 'Back up a running server to a file',
    description:
      'Takes a snapshot over the network: by replication (like valkey-cli --rdb) or, for servers that refuse ' +
      'replication, by SCAN + DUMP. The file is written under a temporary name and renamed when complete. ' +
      'The format comes from the extension of FILE (.rdb, .valkey/.resp, .txt, .jsonl) unless --format says. ' +
      'A Sentinel URL (valkey+sentinel://host:port,.../<primary-name>) reads the primary the Sentinels name, ' +
      'or with --from-replica their most up-to-date healthy replica, and says which node was read.',
    usage:
      'backup --url URL -o FILE [--format rdb|resp|jsonl] [--mode replication|scan] [--from-replica] [--db N] [--match GLOB] [--type T]',
    args: [],
    flags: [
      requiredUrl('Server to back up'),
      ...credentialFlags,
      {
        name: 'output',
        short: 'o',
        type: 'string',
        valueName: 'FILE',
        required: true,
        description: 'File to write, or - for stdout',
      },
      {
        name: 'format',
        type: 'string',
        valueName: 'F',
        choices: outputFormats,
        description: 'Output format; by default from the extension of FILE',
      },
      {
        name: 'mode',
        type: 'string',
        valueName: 'M',
        choices: ['replication', 'scan'],
        default: 'replication',
        description: 'How to read the server',
      },
      {
        name: 'from-replica',
        type: 'boolean',
        description:
          'With a Sentinel URL: read a replica (the most up-to-date healthy one) instead of the primary',
      },
      {
        name: 'per-node',
        type: 'boolean',
        description:
          "An RDB file per primary of a cluster, each the node's snapshot as it is: -o dir/backup.rdb writes dir/backup.<host>-<port>.rdb",
      },
      db,
      match,
      keyType,
      ...tlsFlags,
      {
        name: 'force',
        type: 'boolean',
        description: 'Overwrite FILE (with --per-node: the files) if it exists',
      },
      json,
    ],
    examples: [
      {
        command: 'valkey-tools backup --url redis://127.0.0.1:6379 -o dump.rdb',
        description: 'an RDB snapshot',
      },
      {
        command: 'valkey-tools backup --url redis://10.0.0.1:7000 --per-node -o nightly/backup.rdb',
        description: 'a cluster: one RDB file per primary, all read at once',
      },
      {
        command: 'valkey-tools backup --url rediss://user:pw@cache.example:6380 --mode scan -o data.valkey',
        description: 'a managed server that refuses SYNC, as RESP text',
      },
      {
        command:
          'valkey-tools backup --url valkey+sentinel://s1:26379,s2:26379,s3:26379/mymaster --from-replica --password-file server.pw --sentinel-password-file sentinel.pw -o dump.rdb',
        description: 'a replica of a Sentinel-managed deployment, passwords from files',
      },
    ],
  },
  {
    name: 'restore',
    group: 'data',
    summary: 'Load a backup file into a running server',
    description:
      'Streams FILE (.rdb, .valkey/.resp, .txt, .jsonl, .aof or a multi-part AOF directory; - for stdin with ' +
      '--from) into the server with a bounded pipeline; a cluster node URL restores into the whole cluster. ' +
      'The whole file is checked before anything is sent: a damaged file, or one that runs anything but ' +
      'data (ACL, CONFIG, scripts, FLUSHALL...) or commands that span keys, is refused with its position and ' +
      'the target is left as it was. A key that already exists on the target stops the restore (or, with ' +
      '--on-error continue, is left exactly as it was and reported); --replace makes it exactly what the file ' +
      'says (deleted first, never merged into); --flush empties the target once the file has been checked. ' +
      'A Sentinel URL restores into the current primary; when the Sentinels fail over meanwhile, the file is ' +
      'restored again into the new primary with --replace, and each failover is reported. ' +
      'Exit code 1 when any key failed or was left as it was.',
    usage: 'restore FILE --url URL [--replace | --flush] [--on-error continue] [--db N] [--match GLOB]',
    args: [{ name: 'file', required: true, description: 'Backup file, or - for stdin' }],
    flags: [
      requiredUrl('Server to restore into'),
      ...credentialFlags,
      {
        name: 'replace',
        type: 'boolean',
        description: 'Make keys that already exist exactly what the file says (deleted first, never merged)',
      },
      {
        name: 'flush',
        type: 'boolean',
        description: 'FLUSHALL the target once the whole file has been checked, before writing',
      },
      {
        name: 'verbatim',
        type: 'boolean',
        description:
          'Trust the file: replay every command as it comes (any command, commands across keys, no per-key rule)',
      },
      db,
      match,
      keyType,
      {
        name: 'target-db',
        type: 'integer',
        valueName: 'N',
        min: 0,
        description: 'Write every key into this db instead of its source db',
      },
      {
        name: 'from',
        type: 'string',
        valueName: 'F',
        choices: fileFormats,
        description: 'Format of FILE; by default from its extension',
      },
      ...tlsFlags,
      truncated,
      {
        name: 'on-error',
        type: 'string',
        valueName: 'WHAT',
        choices: ['stop', 'continue'],
        default: 'stop',
        description: 'Stop at the first key the server refuses, or continue and report them all',
      },
      json,
    ],
    examples: [
      {
        command: 'valkey-tools restore dump.rdb --url redis://127.0.0.1:6380 --replace',
        description: 'load an RDB, overwriting existing keys',
      },
      {
        command: 'valkey-tools restore backup.valkey --url redis://127.0.0.1:6380 --on-error continue',
        description: 'load what the target lacks, leaving the keys it has as they are',
      },
      {
        command: 'valkey-tools restore appendonlydir --url redis://127.0.0.1:6380 --flush',
        description: 'replace everything on the target with an AOF directory (checked first)',
      },
      {
        command:
          'valkey-tools restore dump.rdb --url valkey+sentinel://s1:26379,s2:26379,s3:26379/mymaster --replace',
        description: 'into the primary of a Sentinel-managed deployment, following a failover',
      },
    ],
  },
  {
    name: 'migrate',
    group: 'data',
    summary: 'Copy a live server into another one, and keep following it until cut-over',
    description:
      'Reads --from as a replica would (its point-in-time snapshot, verified in a private temp file, or with ' +
      '--mode scan SCAN + DUMP) and restores it into --to, routed by slot when --to is a cluster node. With ' +
      '--follow it then applies every write --from takes (its replication stream: SELECT, MULTI/EXEC, expiries, ' +
      'functions, stream commands) until Ctrl-C, or with --until-synced until --to has had everything for ' +
      '--synced-for ms: stop the writes to --from, wait for it to return, then point clients at --to. Redis 7.x ' +
      'and Valkey sources, standalone or cluster; commands other than data (ACL, CONFIG, PUBLISH...) are never ' +
      'applied, only counted. Lag and rate are shown on a terminal, and with --json as one JSON line per second.',
    usage:
      'migrate --from URL --to URL [--follow [--until-synced]] [--replace | --flush] [--db N] [--match GLOB]',
    args: [],
    flags: [
      {
        name: 'from',
        type: 'string',
        valueName: 'URL',
        required: true,
        description: 'The source server or cluster node (Redis 7.x or Valkey; a Sentinel URL too)',
      },
      {
        name: 'to',
        type: 'string',
        valueName: 'URL',
        required: true,
        description: 'The target server or cluster node',
      },
      {
        name: 'from-password-file',
        type: 'string',
        valueName: 'FILE',
        description: "Read the source's password from FILE (its first line) instead of the URL",
      },
      {
        name: 'to-password-file',
        type: 'string',
        valueName: 'FILE',
        description: "Read the target's password from FILE (its first line) instead of the URL",
      },
      {
        name: 'follow',
        type: 'boolean',
        description: 'After the snapshot, keep applying what the source writes (an online migration)',
      },
      {
        name: 'until-synced',
        type: 'boolean',
        description:
          'With --follow: stop once the target has everything and the source has been quiet for --synced-for',
      },
      {
        name: 'synced-for',
        type: 'integer',
        valueName: 'MS',
        min: 0,
        default: 2000,
        description: 'With --until-synced: how long the source must stay quiet with nothing left to apply',
      },
      {
        name: 'mode',
        type: 'string',
        valueName: 'M',
        choices: ['replication', 'scan'],
        default: 'replication',
        description:
          'How the snapshot is read: replication (point-in-time) or scan (servers that refuse SYNC)',
      },
      {
        name: 'replace',
        type: 'boolean',
        description: 'Make keys that already exist on the target exactly what the source has',
      },
      {
        name: 'flush',
        type: 'boolean',
        description: 'FLUSHALL the target once the snapshot has been checked, before writing',
      },
      db,
      match,
      {
        name: 'target-db',
        type: 'integer',
        valueName: 'N',
        min: 0,
        description: 'Write every key into this db instead of its source db',
      },
      {
        name: 'temp-dir',
        type: 'string',
        valueName: 'DIR',
        description: 'Where the snapshot is kept while it is restored (default the OS temp dir)',
      },
      ...tlsFlags,
      json,
    ],
    examples: [
      {
        command: 'valkey-tools migrate --from redis://redis.internal:6379 --to redis://valkey.internal:6379',
        description: 'copy a Redis server into Valkey (a point-in-time snapshot)',
      },
      {
        command:
          'valkey-tools migrate --from redis://redis.internal:6379 --to redis://valkey-node-1:7000 --follow --until-synced',
        description:
          'online: follow the source into a cluster; stop writes to it, and this returns once in sync',
      },
      {
        command: 'valkey-tools migrate --from redis://old:6379 --to redis://new:6379 --follow --json',
        description: 'follow until Ctrl-C, one JSON status line per second',
      },
    ],
  },
  {
    name: 'convert',
    group: 'data',
    summary: 'Convert between RDB, RESP text (.valkey) and JSONL',
    description:
      'Streams IN to OUT without a server. Formats come from the extensions (.rdb, .valkey/.resp, .txt, ' +
      '.jsonl; .aof or an AOF directory for input) unless --from/--to say; - is stdin or stdout.',
    usage: 'convert IN OUT [--from F] [--to F] [--db N] [--match GLOB] [--type T]',
    args: [
      { name: 'in', required: true, description: 'Input file, or - for stdin' },
      { name: 'out', required: true, description: 'Output file, or - for stdout' },
    ],
    flags: [
      {
        name: 'from',
        type: 'string',
        valueName: 'F',
        choices: fileFormats,
        description: 'Input format; by default from the extension of IN',
      },
      {
        name: 'to',
        type: 'string',
        valueName: 'F',
        choices: outputFormats,
        description: 'Output format; by default from the extension of OUT',
      },
      db,
      match,
      keyType,
      truncated,
      { name: 'force', type: 'boolean', description: 'Overwrite OUT if it exists' },
      json,
    ],
    examples: [
      { command: 'valkey-tools convert dump.rdb dump.valkey', description: 'RDB to RESP text' },
      {
        command: 'valkey-tools convert dump.rdb - --to jsonl --match "user:*" | jq .key',
        description: 'some keys as JSON lines on stdout',
      },
    ],
  },
  {
    name: 'inspect',
    group: 'data',
    summary: 'Summarize an RDB file',
    description:
      'Header, RDB version, AUX fields, keys per db and type, encodings, expiries and the N biggest keys.',
    usage: 'inspect FILE [--json] [--top N] [--memory [--separator :] [--html report.html] [--csv out.csv]]',
    args: [{ name: 'file', required: true, description: 'RDB file, or - for stdin' }],
    flags: [
      {
        name: 'top',
        type: 'integer',
        valueName: 'N',
        default: 10,
        min: 0,
        description: 'How many of the biggest keys to list',
      },
      {
        name: 'memory',
        type: 'boolean',
        description: 'Estimate memory per key, type, encoding, key prefix and expiry instead',
      },
      {
        name: 'separator',
        type: 'string',
        multiple: true,
        valueName: 'SEP',
        description: 'With --memory: key-prefix separator (repeatable; default : and /)',
      },
      {
        name: 'html',
        type: 'string',
        valueName: 'FILE',
        description: 'With --memory: also write an HTML report',
      },
      {
        name: 'csv',
        type: 'string',
        valueName: 'FILE',
        description: 'With --memory: also write one CSV line per key (rdbtools columns)',
      },
      { name: 'force', type: 'boolean', description: 'Overwrite the --html/--csv files if they exist' },
      json,
    ],
    examples: [
      { command: 'valkey-tools inspect dump.rdb --top 20', description: 'the 20 biggest keys' },
      {
        command: 'valkey-tools inspect dump.rdb --memory --html memory.html',
        description: 'where the memory goes, as a page to share',
      },
    ],
  },
  {
    name: 'verify',
    group: 'data',
    summary: 'Check an RDB file completely (parse + checksum)',
    description:
      'Reads every record and checks the CRC-64. Exit code 0 when the file is valid, 1 with the first ' +
      'problem (byte offset, key) when not.',
    usage: 'verify FILE [--json]',
    args: [{ name: 'file', required: true, description: 'RDB file, or - for stdin' }],
    flags: [json],
    examples: [
      {
        command: 'valkey-tools verify dump.rdb && echo ok',
        description: 'exit code 0 only for a complete file with a valid checksum',
      },
    ],
  },
  // --- kvcache ----------------------------------------------------------------------------------
  {
    name: 'kvcache keys',
    group: 'kvcache',
    summary: 'Compute the KV-block keys of a token sequence',
    usage:
      'kvcache keys --model M [--tokens FILE|-] [--block-size N] [--seed S] [--algo llm-d|vllm] [--lora NAME] [--json]',
    args: [],
    flags: [
      { name: 'model', type: 'string', valueName: 'M', required: true, description: 'Model name' },
      {
        name: 'tokens',
        type: 'string',
        valueName: 'FILE|-',
        default: '-',
        description: 'JSON array of token ids, from FILE or stdin',
      },
      {
        name: 'block-size',
        type: 'integer',
        valueName: 'N',
        default: 16,
        min: 1,
        description: 'Tokens per block',
      },
      { name: 'seed', type: 'string', valueName: 'S', description: 'Hash seed (PYTHONHASHSEED)' },
      {
        name: 'algo',
        type: 'string',
        valueName: 'A',
        choices: ['llm-d', 'vllm'],
        default: 'llm-d',
        description: 'llm-d request keys (FNV-64a) or vLLM engine keys (sha256_cbor)',
      },
      { name: 'lora', type: 'string', valueName: 'NAME', description: 'LoRA adapter name' },
      json,
    ],
    examples: [
      {
        command: "echo '[1,2,3,4]' | valkey-tools kvcache keys --model llama --block-size 2",
        description: 'two block keys',
      },
    ],
  },
  {
    name: 'kvcache score',
    group: 'kvcache',
    summary: 'Score pods for a prompt against an index on Valkey',
    usage: 'kvcache score --url URL --model M [--tokens FILE|-] [--json]',
    args: [],
    flags: [
      requiredUrl('Valkey holding the index'),
      ...credentialFlags,
      { name: 'model', type: 'string', valueName: 'M', required: true, description: 'Model name' },
      {
        name: 'tokens',
        type: 'string',
        valueName: 'FILE|-',
        default: '-',
        description: 'JSON array of token ids, from FILE or stdin',
      },
      {
        name: 'pod',
        type: 'string',
        multiple: true,
        valueName: 'POD',
        description: 'Only score these pods',
      },
      {
        name: 'block-size',
        type: 'integer',
        valueName: 'N',
        default: 16,
        min: 1,
        description: 'Tokens per block',
      },
      { name: 'seed', type: 'string', valueName: 'S', description: 'Hash seed the index was built with' },
      {
        name: 'lora',
        type: 'string',
        valueName: 'NAME',
        description: 'LoRA adapter name (scored as the model)',
      },
      {
        name: 'key-prefix',
        type: 'string',
        valueName: 'P',
        description: 'Key namespace the index was written with (default kvcache)',
      },
      json,
    ],
    examples: [
      {
        command:
          'valkey-tools kvcache score --url valkey://127.0.0.1:6379 --model llama --tokens prompt.json',
        description: 'score per pod',
      },
      {
        command:
          'valkey-tools kvcache score --url valkey+sentinel://s1:26379,s2:26379/mymaster --model llama --tokens prompt.json',
        description: 'against an index on a Sentinel-managed deployment (its primary)',
      },
    ],
  },
  {
    name: 'kvcache serve',
    group: 'kvcache',
    summary: 'Run the scoring service (HTTP /score and /metrics) fed by vLLM KV events',
    description:
      'Subscribes to vLLM KV-event publishers over ZMQ, keeps the index in memory or on Valkey and answers ' +
      'POST /score ({"tokens": [...], "model": "m", "pods": [...]}) and GET /metrics (Prometheus). Prints its URL ' +
      'on stdout once listening; Ctrl-C or SIGTERM stops it gracefully (exit code 0). A Sentinel URL as the ' +
      'backend (valkey+sentinel://host:port,.../<primary-name>) follows failovers to the new primary.',
    usage: 'kvcache serve [--backend memory|URL] [--zmq ENDPOINT]... [--port P]',
    args: [],
    flags: [
      {
        name: 'backend',
        type: 'string',
        valueName: 'memory|URL',
        default: 'memory',
        description: 'Keep the index in memory or on the Valkey at URL',
      },
      ...credentialFlags,
      {
        name: 'zmq',
        type: 'string',
        multiple: true,
        valueName: 'ENDPOINT',
        description: 'vLLM KV-event publisher to subscribe to: tcp://vllm-0:5557',
      },
      {
        name: 'port',
        type: 'integer',
        valueName: 'P',
        default: 8080,
        min: 0,
        max: 65535,
        description: 'HTTP port (0 picks a free one)',
      },
      {
        name: 'host',
        type: 'string',
        valueName: 'HOST',
        default: '127.0.0.1',
        description: 'Address to listen on',
      },
      {
        name: 'block-size',
        type: 'integer',
        valueName: 'N',
        default: 16,
        min: 1,
        description: 'Tokens per block',
      },
      { name: 'seed', type: 'string', valueName: 'S', description: 'Hash seed for request keys' },
      json,
    ],
    examples: [
      {
        command: 'valkey-tools kvcache serve --zmq tcp://vllm-0:5557 --zmq tcp://vllm-1:5557 --port 8080',
        description: 'index two vLLM pods in memory',
      },
      {
        command:
          'valkey-tools kvcache serve --backend valkey+sentinel://s1:26379,s2:26379,s3:26379/mymaster --zmq tcp://vllm-0:5557',
        description: 'the index on a Sentinel-managed deployment, kept through failovers',
      },
    ],
  },
] as const satisfies readonly CommandDefinition[];

export type CommandName = (typeof commands)[number]['name'];

/** Words that start a multi-word command (`cluster`, `config`, ...). */
export const commandPrefixes: readonly string[] = [
  ...new Set(
    (commands as readonly CommandDefinition[])
      .filter((c) => c.name.includes(' '))
      .map((c) => c.name.split(' ')[0]!),
  ),
];

export function findCommand(name: string): CommandDefinition | undefined {
  return (commands as readonly CommandDefinition[]).find((c) => c.name === name);
}
