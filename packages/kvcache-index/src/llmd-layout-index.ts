import type { Cluster, Redis } from 'iovalkey';
import { KvCacheError, invalidArgument } from './errors.js';
import { ServerIndex } from './server-index.js';
import {
  type BlockHash,
  type IndexScope,
  type KeyType,
  type KvBlockIndex,
  type PodEntry,
  type PodFilter,
  assertBlockHash,
  toPodSet,
  validateAddArguments,
  validateEvictArguments,
} from './types.js';

const ENGINE_PREFIX = 'engine:';

/** Go's `json.Marshal` string: like JSON.stringify, plus the HTML-safe escapes Go adds by default. */
function goJsonString(s: string): string {
  return JSON.stringify(s).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** A pod entry as llm-d's Redis backend stores it: `json.Marshal(PodEntry)`, fields in declaration order. */
export function encodeLlmdPodField(entry: PodEntry): string {
  const group = entry.group !== undefined;
  return `{"PodIdentifier":${goJsonString(entry.pod)},"DeviceTier":${goJsonString(entry.tier)},"Speculative":${entry.speculative === true},"HasGroup":${group},"GroupIdx":${group ? entry.group : 0}}`;
}

/** Decodes an llm-d hash field; undefined for fields that are not a PodEntry (llm-d skips them too). */
export function decodeLlmdPodField(field: string): PodEntry | undefined {
  let v: unknown;
  try {
    v = JSON.parse(field);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  const entry: PodEntry = {
    pod: typeof o.PodIdentifier === 'string' ? o.PodIdentifier : '',
    tier: typeof o.DeviceTier === 'string' ? o.DeviceTier : '',
  };
  if (o.Speculative === true) entry.speculative = true;
  if (o.HasGroup === true && typeof o.GroupIdx === 'number') entry.group = o.GroupIdx;
  return entry;
}

const PRUNE_REQUEST = `if redis.call('HLEN', KEYS[1]) == 0 then redis.call('DEL', KEYS[1]) return 1 end return 0`;
const PRUNE_ENGINE = `for i = 2, #KEYS do if redis.call('HLEN', KEYS[i]) > 0 then return 0 end end
redis.call('DEL', KEYS[1]) return 1`;

/**
 * The index in llm-d's own Valkey/Redis key layout (llm-d-kv-cache `kvblock/redis.go`, 2026), so a Go
 * llm-d and this index can share one database:
 * - request key: HASH named by the decimal key (no prefix), one field per pod entry, the entry as Go's
 *   JSON (`{"PodIdentifier":…,"DeviceTier":…,"Speculative":…,"HasGroup":…,"GroupIdx":…}`), value `""`;
 * - engine key: sorted set `engine:<decimal>`, members the request keys (decimal), score = position in
 *   the add's mapping; the parent is the highest-scored member.
 *
 * There is one key space (as in llm-d): `scope` is ignored, engine keys of different models share it,
 * and `clear(pod)` scans the whole keyspace. On a cluster every key is its own slot, so a lookup is one
 * command per key sent concurrently rather than one script.
 */
export class LlmdLayoutIndex extends ServerIndex implements KvBlockIndex {
  readonly layout = 'llm-d' as const;
  protected readonly title = 'llm-d layout index';
  protected readonly aclCommands =
    'HKEYS, HSET, HDEL, HLEN, ZADD, ZRANGE, ZREVRANGE, EVAL, SCAN, TYPE, DEL, PING and INFO';

  /** Runs commands as one pipeline on a single server, concurrently (per node) on a cluster. */
  private async batch(commands: Array<[string, ...Array<string | number>]>): Promise<unknown[]> {
    if (commands.length === 0) return [];
    if (this.cluster) {
      const c = this.client as Cluster;
      return Promise.all(commands.map(([cmd, ...args]) => c.call(cmd, ...args)));
    }
    const replies = await (this.client as Redis).pipeline(commands).exec();
    return (replies ?? []).map(([err, value]) => {
      if (err) throw err;
      return value;
    });
  }

  async lookup(
    requestKeys: readonly BlockHash[],
    podFilter?: PodFilter,
    _scope?: IndexScope,
  ): Promise<Map<BlockHash, PodEntry[]>> {
    this.check();
    if (!Array.isArray(requestKeys)) throw invalidArgument('lookup() needs an array of request keys', {});
    const result = new Map<BlockHash, PodEntry[]>();
    if (requestKeys.length === 0) return result;
    for (const k of requestKeys) assertBlockHash(k, 'request key');
    const pods = toPodSet(podFilter);
    let replies: unknown[];
    try {
      replies = await this.batch(requestKeys.map((k) => ['hkeys', k.toString()]));
    } catch (err) {
      throw this.backendError('HKEYS', err);
    }
    for (let i = 0; i < requestKeys.length; i++) {
      const entries: PodEntry[] = [];
      for (const field of replies[i] as string[]) {
        const entry = decodeLlmdPodField(field);
        if (entry && (!pods || pods.has(entry.pod))) entries.push(entry);
      }
      if (entries.length === 0) break;
      result.set(requestKeys[i]!, entries);
    }
    return result;
  }

  async add(
    engineKeys: readonly BlockHash[] | null,
    requestKeys: readonly BlockHash[],
    entries: readonly PodEntry[],
    _scope?: IndexScope,
  ): Promise<void> {
    this.check();
    const fields = validateAddArguments(engineKeys, requestKeys, entries).map(encodeLlmdPodField);
    const commands: Array<[string, ...Array<string | number>]> = [];
    if (engineKeys !== null) {
      // llm-d's mapping: one member per step i, scored i (many:1, 1:1 and 1:many alike)
      const e = engineKeys.length;
      const r = requestKeys.length;
      const n = Math.max(e, r);
      for (let i = 0; i < n; i++) {
        const ek = engineKeys[Math.floor((i * e) / n)]!;
        const rk = requestKeys[Math.floor((i * r) / n)]!;
        commands.push(['zadd', `${ENGINE_PREFIX}${ek}`, i, rk.toString()]);
      }
    }
    const hset: string[] = [];
    for (const f of fields) hset.push(f, '');
    for (const rk of requestKeys) commands.push(['hset', rk.toString(), ...hset]);
    try {
      await this.batch(commands);
    } catch (err) {
      throw this.backendError('adding entries', err);
    }
  }

  private async evictFromRequestKey(rk: string, fields: string[]): Promise<void> {
    await this.batch([['hdel', rk, ...fields]]);
    await this.client.eval(PRUNE_REQUEST, 1, rk);
  }

  async evict(
    key: BlockHash,
    keyType: KeyType,
    entries: readonly PodEntry[],
    _scope?: IndexScope,
  ): Promise<void> {
    this.check();
    const fields = validateEvictArguments(key, keyType, entries).map(encodeLlmdPodField);
    try {
      if (keyType === 'request') return await this.evictFromRequestKey(key.toString(), fields);
      const engineKey = `${ENGINE_PREFIX}${key}`;
      const rks = await this.client.zrange(engineKey, 0, -1);
      if (rks.length === 0) return;
      for (const rk of rks) await this.evictFromRequestKey(rk, fields);
      if (!this.cluster) {
        await this.client.eval(PRUNE_ENGINE, 1 + rks.length, engineKey, ...rks);
        return;
      }
      // a cluster cannot run a script over keys of several slots: the same check, not atomic
      const lengths = await this.batch(rks.map((rk) => ['hlen', rk]));
      if (lengths.every((n) => Number(n) === 0)) await this.client.del(engineKey);
    } catch (err) {
      throw this.backendError('evict', err);
    }
  }

  async getRequestKey(engineKey: BlockHash, _scope?: IndexScope): Promise<BlockHash> {
    this.check();
    assertBlockHash(engineKey, 'engine key');
    let top: string[];
    try {
      top = await this.client.zrevrange(`${ENGINE_PREFIX}${engineKey}`, 0, 0);
    } catch (err) {
      throw this.backendError('ZREVRANGE', err);
    }
    if (top.length === 0)
      throw new KvCacheError('ERR_KEY_NOT_FOUND', `Engine key ${engineKey} is not in the index`, {
        details: { engineKey: engineKey.toString(), address: this.address },
      });
    return BigInt(top[0]!);
  }

  /** As llm-d: scans the keyspace (every primary on a cluster); keys that are not hashes are skipped. */
  async clear(pod: string): Promise<void> {
    this.check();
    if (typeof pod !== 'string' || pod === '')
      throw invalidArgument('clear() needs a pod identifier', { pod });
    const nodes: Redis[] = this.cluster ? (this.client as Cluster).nodes('master') : [this.client as Redis];
    try {
      for (const node of nodes) {
        let cursor = '0';
        do {
          const [next, keys] = await node.scan(cursor, 'COUNT', 1024);
          cursor = next;
          for (const key of keys) {
            if (key.startsWith(ENGINE_PREFIX)) continue;
            if ((await node.type(key)) !== 'hash') continue;
            const stale = (await node.hkeys(key)).filter((f) => decodeLlmdPodField(f)?.pod === pod);
            if (stale.length === 0) continue;
            await node.hdel(key, ...stale);
            await node.eval(PRUNE_REQUEST, 1, key);
          }
        } while (cursor !== '0');
      }
    } catch (err) {
      throw this.backendError('clear', err);
    }
  }
}
