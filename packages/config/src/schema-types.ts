/** How a directive's value is read. */
export type DirectiveType =
  /** `yes` / `no` */
  | 'bool'
  /** a decimal integer within `min`..`max` */
  | 'integer'
  /** an octal integer (`unixsocketperm 700`) */
  | 'octal'
  /** bytes with optional unit: `1k` = 1000, `1kb` = 1024, ... `1gb` (case-insensitive) */
  | 'memory'
  /** a memory value or `N%` */
  | 'memory-or-percent'
  /** one of `values` */
  | 'enum'
  /** one or more of `values`, space-separated */
  | 'flags'
  | 'string'
  | 'path'
  /** several arguments on one line (`bind 127.0.0.1 ::1`) */
  | 'list'
  /** `save <seconds> <changes> [...]`, repeatable, `save ""` disables */
  | 'save'
  /** `client-output-buffer-limit <class> <hard> <soft> <seconds>`, one line per class */
  | 'client-output-buffer-limit'
  /** `replicaof <host> <port>` (or `no one`) */
  | 'replicaof'
  /** `rename-command <command> <new-name>` */
  | 'rename-command'
  /** `include <path-or-glob>` */
  | 'include'
  /** `loadmodule <path> [args...]` */
  | 'loadmodule'
  /** `user <name> [rules...]` */
  | 'user'
  /** accepted and ignored by the server */
  | 'deprecated';

export interface DirectiveSpec {
  name: string;
  type: DirectiveType;
  /** The value `CONFIG GET` reports when nothing sets it (`null`: none, or depends on the machine). */
  default: string | null;
  /** Decimal bounds (strings, exact beyond 2^53) for integer and memory directives. */
  min?: string;
  max?: string;
  /** Allowed values of `enum` and `flags` directives. */
  values?: readonly string[];
  /** For `list`: the item kind, and how many items are required. */
  itemType?: 'integer' | 'number';
  count?: number;
  /** A string directive that accepts several arguments on one line. */
  multiArg?: boolean;
  /** The server checks the string's content; this is its error when it is wrong. */
  check?: string;
  /** For paths whose default is empty: whether an empty value is accepted. */
  emptyAllowed?: boolean;
  /** `CONFIG SET` can change it at runtime. */
  mutable: boolean;
  /** `CONFIG SET` needs `enable-protected-configs`. */
  protected?: boolean;
  /** May appear on several lines, each adding to the value. */
  repeatable?: boolean;
  /** This name is an alias of the documented one. */
  aliasOf?: string;
  /** Other names for this directive. */
  aliases?: readonly string[];
  /** Documented in the shipped valkey.conf. */
  documented: boolean;
  description?: string;
  /** Also accepted by Redis 7.0. */
  redis70: boolean;
  /** The version it first appeared in, when known. */
  since?: string;
}
