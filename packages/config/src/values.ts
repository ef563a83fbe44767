/** Value types shared by the typed config input (one per directive kind). */

type LowerMemoryUnit = 'b' | 'k' | 'kb' | 'm' | 'mb' | 'g' | 'gb';
/** Memory units the server accepts (case-insensitive; `k` = 1000, `kb` = 1024). */
export type MemoryUnit = LowerMemoryUnit | Uppercase<LowerMemoryUnit> | 'Kb' | 'Mb' | 'Gb';
/** Bytes as a number, or a string like `'256mb'`, `'1gb'`, `'100k'`. */
export type MemoryValue = number | bigint | `${number}` | `${number}${MemoryUnit}`;
/** A percentage such as `'10%'` (for directives that take "memory or percent"). */
export type PercentValue = `${number}%`;
/** `true`/`false` or the server's own `'yes'`/`'no'`. */
export type YesNo = boolean | 'yes' | 'no';
/** An integer (a numeric string is accepted too). */
export type IntegerValue = number | bigint | `${number}`;

/** `save` points: `[[900, 1], [300, 10]]`, `'900 1 300 10'`, or `''` to disable RDB snapshots. */
export type SaveValue = '' | string | ReadonlyArray<readonly [seconds: number, changes: number]>;

export type ClientClass = 'normal' | 'replica' | 'slave' | 'pubsub';
export interface ClientOutputBufferLimit {
  class: ClientClass;
  hardLimit: MemoryValue;
  softLimit: MemoryValue;
  softSeconds: number;
}
/** One entry per client class (each becomes its own line). */
export type ClientOutputBufferLimitValue =
  | string
  | ReadonlyArray<
      ClientOutputBufferLimit | readonly [ClientClass, MemoryValue, MemoryValue, number] | string
    >;

/** `{ host, port }`, `['10.0.0.1', 6379]` or `'10.0.0.1 6379'`. */
export type ReplicaOfValue = { host: string; port: number } | readonly [string, number] | string;

/** `{ FLUSHALL: '' }` (disables) or `[['CONFIG', 'CONFIG_b9f3']]`. */
export type RenameCommandValue =
  | Readonly<Record<string, string>>
  | ReadonlyArray<readonly [command: string, newName: string]>;

/** A module path, or `[path, ...args]`. */
export type ModuleSpec = string | readonly [path: string, ...args: string[]];

/** ACL rules: `'alice on >secret ~* +@all'` (split on whitespace) or `['alice', 'on', '>sec ret']`. */
export type UserSpec = string | readonly [name: string, ...rules: string[]];

/** A list of arguments on one line (`bind 127.0.0.1 ::1`), or one space-separated string. */
export type ListValue<T extends string | number = string> = T | readonly T[];

/** A raw value for a directive the table does not type (module configs, newer servers). */
export type RawValue =
  | string
  | number
  | bigint
  | boolean
  | Uint8Array
  | ReadonlyArray<string | number | Uint8Array | ReadonlyArray<string | number | Uint8Array>>;

/** Text (written as UTF-8) or raw bytes (written with `\xHH` escapes where needed). */
export type StringValue = string | Uint8Array;
