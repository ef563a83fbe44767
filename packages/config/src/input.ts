import type {
  ClientOutputBufferLimitValue,
  IntegerValue,
  ListValue,
  MemoryValue,
  ModuleSpec,
  RenameCommandValue,
  ReplicaOfValue,
  SaveValue,
  UserSpec,
  YesNo,
} from './values.js';

/** Directives whose value shape is not a single scalar (multi-argument and repeatable forms). */
export interface SpecialDirectives {
  save?: SaveValue;
  'client-output-buffer-limit'?: ClientOutputBufferLimitValue;
  'rename-command'?: RenameCommandValue;
  include?: ListValue;
  loadmodule?: ModuleSpec | readonly ModuleSpec[];
  user?: UserSpec | readonly UserSpec[];
  replicaof?: ReplicaOfValue;
  slaveof?: ReplicaOfValue;
  bind?: ListValue;
}

/** Commonly used directives (the generated table types every other one). */
export interface CommonDirectives {
  port?: IntegerValue;
  dir?: string;
  daemonize?: YesNo;
  logfile?: string;
  pidfile?: string;
  dbfilename?: string;
  appendonly?: YesNo;
  maxmemory?: MemoryValue;
}

/**
 * A config as plain data: directive name → value. Repeatable directives take arrays
 * (`save: [[900, 1], [300, 10]]`, or `save: ''` to disable). Unknown names are accepted
 * (module configs, newer servers) and written as-is; `validateConfig` flags them.
 */
export type ValkeyConfigInput = SpecialDirectives & CommonDirectives & { [extra: string]: unknown };
