/**
 * The record model shared by every reader and writer in @valkey-tools/backup (RDB, RESP text,
 * JSONL, live backup, restore). Keys, members, fields and values are raw bytes (`Buffer`): the
 * format is binary-safe end to end. Times are absolute Unix milliseconds.
 */

/** Which server family wrote a file: decides the meaning of type/opcode bytes that differ. */
export type RdbFlavor = 'redis' | 'valkey';

export type ValueType = 'string' | 'list' | 'set' | 'zset' | 'hash' | 'stream' | 'module';

/** A stream entry ID `<ms>-<seq>`; both parts are unsigned 64-bit. */
export interface StreamId {
  ms: bigint;
  seq: bigint;
}

export interface StringValue {
  type: 'string';
  value: Buffer;
}
export interface ListValue {
  type: 'list';
  items: Buffer[];
}
export interface SetValue {
  type: 'set';
  members: Buffer[];
}
export interface ZSetEntry {
  member: Buffer;
  /** IEEE-754 double; -0, ±Infinity kept exactly. */
  score: number;
}
export interface ZSetValue {
  type: 'zset';
  entries: ZSetEntry[];
}
export interface HashEntry {
  field: Buffer;
  value: Buffer;
  /** Per-field expiry (Valkey 9 HASH_2, Redis 7.4 hash-field-expiry), absolute ms. */
  expiresAt?: number;
}
export interface HashValue {
  type: 'hash';
  entries: HashEntry[];
}

export interface StreamEntry {
  id: StreamId;
  /** Field/value pairs in their stored order. */
  fields: Array<[Buffer, Buffer]>;
}
export interface StreamPendingEntry {
  id: StreamId;
  /** Last delivery time, absolute ms. */
  deliveryTime: number;
  deliveryCount: number;
  /** Owner consumer name (from the consumers' PELs). */
  consumer: Buffer;
}
export interface StreamConsumer {
  name: Buffer;
  /** seen-time, absolute ms. */
  seenTime: number;
  /** active-time (RDB stream v3+), absolute ms; undefined before. */
  activeTime?: number;
  /** IDs of this consumer's pending entries. */
  pending: StreamId[];
}
export interface StreamGroup {
  name: Buffer;
  lastId: StreamId;
  /** entries-read (RDB stream v2+); undefined when unknown. */
  entriesRead?: bigint;
  pending: StreamPendingEntry[];
  consumers: StreamConsumer[];
}
export interface StreamValue {
  type: 'stream';
  entries: StreamEntry[];
  /** Number of entries (XLEN). */
  length: bigint;
  lastId: StreamId;
  /** RDB stream v2+: first entry id, max deleted id, entries added. */
  firstId?: StreamId;
  maxDeletedId?: StreamId;
  entriesAdded?: bigint;
  groups: StreamGroup[];
}

export interface ModuleValue {
  type: 'module';
  /** 64-bit module type id (54-bit name code + 10-bit encoding version). */
  moduleId: bigint;
  /** The 9-character module type name decoded from the id. */
  moduleName: string;
  encodingVersion: number;
  /** The value's serialized bytes exactly as stored after the type byte (the id and the opcode framing included), so a writer can emit them unchanged. */
  raw: Buffer;
}

export type Value = StringValue | ListValue | SetValue | ZSetValue | HashValue | StreamValue | ModuleValue;

export interface HeaderRecord {
  kind: 'header';
  /** `REDIS` or `VALKEY`. */
  magic: 'REDIS' | 'VALKEY';
  version: number;
  flavor: RdbFlavor;
}
export interface AuxRecord {
  kind: 'aux';
  key: Buffer;
  value: Buffer;
}
export interface ModuleAuxRecord {
  kind: 'module-aux';
  moduleId: bigint;
  moduleName: string;
  /** Raw bytes of the record body after the opcode, to write it back unchanged. */
  raw: Buffer;
}
export interface FunctionRecord {
  kind: 'function';
  /** The library source as given to FUNCTION LOAD (RDB_OPCODE_FUNCTION2). */
  code: Buffer;
}
export interface SelectDbRecord {
  kind: 'select-db';
  db: number;
}
export interface ResizeDbRecord {
  kind: 'resize-db';
  dbSize: number;
  expiresSize: number;
}
export interface SlotInfoRecord {
  kind: 'slot-info';
  slot: number;
  slotSize: number;
  expiresSlotSize: number;
}
export interface KeyRecord {
  kind: 'key';
  db: number;
  key: Buffer;
  /** Absolute expiry in ms, when the key has one. */
  expiresAt?: number;
  /** LRU idle time in seconds (RDB_OPCODE_IDLE). */
  lruIdle?: number;
  /** LFU frequency counter (RDB_OPCODE_FREQ). */
  lfuFreq?: number;
  /** The on-disk encoding it was read from: `string`, `listpack`, `quicklist2`, `intset`, `ziplist`, `zipmap`, `hashtable`, `skiplist`, `stream-listpacks3`, `module2`... */
  encoding: string;
  value: Value;
}
export interface EndRecord {
  kind: 'end';
  /** The stored CRC-64, or null when the version has no trailer or checksums were disabled (0). */
  checksum: bigint | null;
}

export type RdbRecord =
  | HeaderRecord
  | AuxRecord
  | ModuleAuxRecord
  | FunctionRecord
  | SelectDbRecord
  | ResizeDbRecord
  | SlotInfoRecord
  | KeyRecord
  | EndRecord;
