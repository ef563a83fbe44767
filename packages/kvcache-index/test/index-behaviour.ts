import { describe, expect, it } from 'vitest';
import { KvCacheError } from '../src/errors.js';
import type { BlockHash, KvBlockIndex, PodEntry } from '../src/types.js';

/** Creates a fresh, empty index (e.g. with its own key namespace on a shared server). */
export type IndexFactory = () => Promise<KvBlockIndex>;

const gpu = (pod: string): PodEntry => ({ pod, tier: 'gpu' });
const cpu = (pod: string): PodEntry => ({ pod, tier: 'cpu' });
const sortEntries = (entries: PodEntry[] | undefined) =>
  (entries ?? []).map((e) => JSON.stringify([e.pod, e.tier, e.speculative ?? false, e.group ?? null])).sort();
const keysOf = (m: Map<BlockHash, PodEntry[]>) => [...m.keys()];

/**
 * The one behaviour suite every backend must pass. `scope` is passed to every call, so a backend that
 * shards by model (Valkey Cluster) is exercised the way the indexer uses it.
 */
export function describeIndexBehaviour(
  name: string,
  factory: IndexFactory,
  scope: { model?: string } = {},
  /** false for llm-d's key layout, which has one key space (engine keys of all models share it) */
  namespaces = true,
): void {
  const withIndex = (fn: (index: KvBlockIndex) => Promise<void>) => async () => {
    const index = await factory();
    try {
      await fn(index);
    } finally {
      await index.close();
    }
  };

  describe.concurrent(`index behaviour: ${name}`, () => {
    it(
      'finds nothing in an empty index and accepts an empty key list',
      withIndex(async (index) => {
        expect((await index.lookup([1n, 2n], undefined, scope)).size).toBe(0);
        expect((await index.lookup([], undefined, scope)).size).toBe(0);
      }),
    );

    it(
      'adds 1:1 and looks up every entry of a full prefix, in order',
      withIndex(async (index) => {
        await index.add([11n, 12n, 13n], [101n, 102n, 103n], [gpu('pod1'), gpu('pod2')], scope);
        const hits = await index.lookup([101n, 102n, 103n], undefined, scope);
        expect(keysOf(hits)).toEqual([101n, 102n, 103n]);
        for (const key of [101n, 102n, 103n])
          expect(sortEntries(hits.get(key))).toEqual(sortEntries([gpu('pod1'), gpu('pod2')]));
        expect(await index.getRequestKey(12n, scope)).toBe(102n);
      }),
    );

    it(
      'stops at the first key no pod holds (prefix semantics)',
      withIndex(async (index) => {
        await index.add(null, [1n, 2n, 4n, 5n], [gpu('pod1')], scope);
        const hits = await index.lookup([1n, 2n, 3n, 4n, 5n], undefined, scope);
        expect(keysOf(hits)).toEqual([1n, 2n]);
        expect((await index.lookup([3n, 4n], undefined, scope)).size).toBe(0);
      }),
    );

    it(
      'filters pods and stops at the first key no allowed pod holds',
      withIndex(async (index) => {
        await index.add(null, [1n, 3n], [gpu('pod1'), gpu('pod2')], scope);
        await index.add(null, [2n], [gpu('pod2')], scope);
        const onlyPod1 = await index.lookup([1n, 2n, 3n], ['pod1'], scope);
        expect(keysOf(onlyPod1)).toEqual([1n]);
        expect(sortEntries(onlyPod1.get(1n))).toEqual(sortEntries([gpu('pod1')]));
        const both = await index.lookup([1n, 2n, 3n], new Set(['pod1', 'pod2']), scope);
        expect(keysOf(both)).toEqual([1n, 2n, 3n]);
        expect(sortEntries(both.get(2n))).toEqual(sortEntries([gpu('pod2')]));
        expect(keysOf(await index.lookup([1n, 2n, 3n], [], scope))).toEqual([1n, 2n, 3n]);
        expect((await index.lookup([1n], ['pod9'], scope)).size).toBe(0);
      }),
    );

    it(
      'maps many engine keys to one request key (many:1)',
      withIndex(async (index) => {
        await index.add([21n, 22n, 23n, 24n, 25n, 26n, 27n, 28n], [201n, 202n], [gpu('pod1')], scope);
        for (const ek of [21n, 22n, 23n, 24n]) expect(await index.getRequestKey(ek, scope)).toBe(201n);
        for (const ek of [25n, 26n, 27n, 28n]) expect(await index.getRequestKey(ek, scope)).toBe(202n);
        await index.evict(25n, 'engine', [gpu('pod1')], scope);
        expect(keysOf(await index.lookup([201n, 202n], undefined, scope))).toEqual([201n]);
      }),
    );

    it(
      'maps one engine key to many request keys (1:many) and returns the last as the parent',
      withIndex(async (index) => {
        await index.add([31n, 32n], [301n, 302n, 303n, 304n], [gpu('pod1')], scope);
        expect(await index.getRequestKey(31n, scope)).toBe(302n);
        expect(await index.getRequestKey(32n, scope)).toBe(304n);
        await index.evict(32n, 'engine', [gpu('pod1')], scope);
        expect(keysOf(await index.lookup([301n, 302n, 303n, 304n], undefined, scope))).toEqual([301n, 302n]);
        await expect(index.getRequestKey(32n, scope)).rejects.toMatchObject({ code: 'ERR_KEY_NOT_FOUND' });
      }),
    );

    it(
      'keeps the engine mapping while another tier still holds the block',
      withIndex(async (index) => {
        await index.add([41n], [401n], [gpu('pod1')], scope);
        await index.add(null, [401n], [cpu('pod1')], scope);
        await index.evict(41n, 'engine', [gpu('pod1')], scope);
        expect(sortEntries((await index.lookup([401n], undefined, scope)).get(401n))).toEqual(
          sortEntries([cpu('pod1')]),
        );
        expect(await index.getRequestKey(41n, scope)).toBe(401n);
        await index.evict(41n, 'engine', [cpu('pod1')], scope);
        expect((await index.lookup([401n], undefined, scope)).size).toBe(0);
        const err = await index.getRequestKey(41n, scope).catch((e: unknown) => e);
        expect(KvCacheError.isInstance(err) && err.code).toBe('ERR_KEY_NOT_FOUND');
      }),
    );

    it(
      'evicts by request key, matching entries on pod, tier, speculative and group',
      withIndex(async (index) => {
        const spec: PodEntry = { pod: 'pod3', tier: 'gpu', speculative: true };
        const grouped: PodEntry = { pod: 'pod3', tier: 'gpu', group: 2 };
        await index.add(null, [501n], [gpu('pod3'), cpu('pod3'), spec, grouped], scope);
        await index.evict(501n, 'request', [cpu('pod3'), { pod: 'pod3', tier: 'gpu', group: 1 }], scope);
        expect(sortEntries((await index.lookup([501n], undefined, scope)).get(501n))).toEqual(
          sortEntries([gpu('pod3'), spec, grouped]),
        );
        await index.evict(501n, 'request', [gpu('pod3'), spec, grouped], scope);
        expect((await index.lookup([501n], undefined, scope)).size).toBe(0);
      }),
    );

    it(
      'ignores evictions of unknown keys and entries',
      withIndex(async (index) => {
        await index.evict(999n, 'engine', [gpu('pod1')], scope);
        await index.evict(999n, 'request', [gpu('pod1')], scope);
        await index.add([61n], [601n], [gpu('pod1')], scope);
        await index.evict(61n, 'engine', [gpu('pod2')], scope);
        expect(keysOf(await index.lookup([601n], undefined, scope))).toEqual([601n]);
        expect(await index.getRequestKey(61n, scope)).toBe(601n);
      }),
    );

    it(
      'is idempotent when the same entries are added twice and lower-cases tiers',
      withIndex(async (index) => {
        await index.add([71n], [701n], [gpu('pod1')], scope);
        await index.add([71n], [701n], [{ pod: 'pod1', tier: 'GPU' }], scope);
        expect((await index.lookup([701n], undefined, scope)).get(701n)).toHaveLength(1);
      }),
    );

    it(
      'clears one pod across tiers and keeps the others',
      withIndex(async (index) => {
        await index.add([81n, 82n], [801n, 802n], [gpu('pod1'), gpu('pod2')], scope);
        await index.add(null, [801n, 803n], [cpu('pod1')], scope);
        await index.clear('pod1');
        const hits = await index.lookup([801n, 802n], undefined, scope);
        expect(keysOf(hits)).toEqual([801n, 802n]);
        expect(sortEntries(hits.get(801n))).toEqual(sortEntries([gpu('pod2')]));
        expect((await index.lookup([803n], undefined, scope)).size).toBe(0);
        expect((await index.lookup([801n], ['pod1'], scope)).size).toBe(0);
        await index.clear('pod-never-seen');
        await index.add(null, [803n], [gpu('pod1')], scope);
        expect(keysOf(await index.lookup([803n], undefined, scope))).toEqual([803n]);
      }),
    );

    it(
      'accepts an empty device tier as a tier of its own (as llm-d, whose tests use "")',
      withIndex(async (index) => {
        const empty: PodEntry = { pod: 'pod1', tier: '' };
        await index.add([1n], [101n], [empty, gpu('pod1')], scope);
        expect(sortEntries((await index.lookup([101n], undefined, scope)).get(101n))).toEqual(
          sortEntries([empty, gpu('pod1')]),
        );
        await index.evict(1n, 'engine', [empty], scope);
        expect(sortEntries((await index.lookup([101n], ['pod1'], scope)).get(101n))).toEqual(
          sortEntries([gpu('pod1')]),
        );
      }),
    );

    it(
      'keeps full 64-bit hashes exact',
      withIndex(async (index) => {
        const big = [18446744073709551615n, 18446744073709551614n, 9007199254740993n];
        await index.add([18446744073709551613n], big, [gpu('pod1')], scope);
        expect(keysOf(await index.lookup(big, undefined, scope))).toEqual(big);
        expect(await index.getRequestKey(18446744073709551613n, scope)).toBe(9007199254740993n);
      }),
    );

    it(
      'walks a long prefix (300 blocks) in one lookup',
      withIndex(async (index) => {
        const keys = Array.from({ length: 300 }, (_, i) => 10_000n + BigInt(i));
        await index.add(null, keys, [gpu('pod1')], scope);
        await index.add(null, keys.slice(0, 150), [gpu('pod2')], scope);
        const hits = await index.lookup(keys, undefined, scope);
        expect(hits.size).toBe(300);
        expect(hits.get(keys[149]!)).toHaveLength(2);
        expect(hits.get(keys[150]!)).toHaveLength(1);
        expect((await index.lookup(keys, ['pod2'], scope)).size).toBe(150);
      }),
    );

    if (namespaces)
      it(
        'keeps engine mappings of different models apart',
        withIndex(async (index) => {
          const other = { model: `${scope.model ?? ''}-other` };
          await index.add([91n], [901n], [gpu('podA')], scope);
          await index.add([91n], [902n], [gpu('podB')], other);
          expect(await index.getRequestKey(91n, scope)).toBe(901n);
          expect(await index.getRequestKey(91n, other)).toBe(902n);
          await index.evict(91n, 'engine', [gpu('podA')], scope);
          expect((await index.lookup([901n], undefined, scope)).size).toBe(0);
          expect(keysOf(await index.lookup([902n], undefined, other))).toEqual([902n]);
          await index.clear('podB');
          expect((await index.lookup([902n], undefined, other)).size).toBe(0);
        }),
      );

    it(
      'rejects invalid arguments with typed errors',
      withIndex(async (index) => {
        await expect(index.add(null, [], [gpu('pod1')], scope)).rejects.toMatchObject({
          code: 'ERR_INVALID_ARGUMENT',
        });
        await expect(index.add(null, [1n], [], scope)).rejects.toMatchObject({
          code: 'ERR_INVALID_ARGUMENT',
        });
        await expect(index.add(null, [-1n], [gpu('pod1')], scope)).rejects.toMatchObject({
          code: 'ERR_INVALID_ARGUMENT',
        });
        await expect(index.add(null, [2n ** 64n], [gpu('pod1')], scope)).rejects.toThrow(/unsigned 64-bit/);
        await expect(index.add(null, [1 as unknown as bigint], [gpu('pod1')], scope)).rejects.toThrow(
          KvCacheError,
        );
        await expect(index.add(null, [1n], [{ pod: '', tier: 'gpu' }], scope)).rejects.toThrow(
          /pod identifier/,
        );
        await expect(index.evict(1n, 'bogus' as 'engine', [gpu('p')], scope)).rejects.toThrow(/key type/);
        await expect(index.clear('')).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
      }),
    );
  });
}

/**
 * The scope rule, the same on every backend: `scope.model` is a namespace. Keys, engine mappings and
 * entries written under a model are seen only by calls with that model; calls without a scope (or with
 * model "") share the default namespace, which no named model sees; `clear(pod)` spans every namespace.
 */
export function describeScopeRule(name: string, factory: IndexFactory): void {
  const withIndex = (fn: (index: KvBlockIndex) => Promise<void>) => async () => {
    const index = await factory();
    try {
      await fn(index);
    } finally {
      await index.close();
    }
  };
  const chain = Array.from({ length: 256 }, (_, i) => 50_000n + BigInt(i));
  const engine = chain.map((k) => k + 1_000_000n);

  describe.concurrent(`scope rule: ${name}`, () => {
    it(
      'finds blocks ingested under a model only with that model: unscoped and other models find none',
      withIndex(async (index) => {
        await index.add(engine, chain, [gpu('pod1')], { model: 'llama' });
        expect((await index.lookup(chain, undefined, { model: 'llama' })).size).toBe(256);
        expect((await index.lookup(chain)).size).toBe(0);
        expect((await index.lookup(chain, undefined, {})).size).toBe(0);
        expect((await index.lookup(chain, undefined, { model: '' })).size).toBe(0);
        expect((await index.lookup(chain, undefined, { model: 'mistral' })).size).toBe(0);
        expect(await index.getRequestKey(engine[5]!, { model: 'llama' })).toBe(chain[5]);
        await expect(index.getRequestKey(engine[5]!)).rejects.toMatchObject({ code: 'ERR_KEY_NOT_FOUND' });
      }),
    );

    it(
      'treats unscoped calls and model "" as one default namespace of their own',
      withIndex(async (index) => {
        await index.add([7n], [70n, 71n], [gpu('pod1')]);
        expect(keysOf(await index.lookup([70n, 71n]))).toEqual([70n, 71n]);
        expect(keysOf(await index.lookup([70n, 71n], undefined, { model: '' }))).toEqual([70n, 71n]);
        expect((await index.lookup([70n, 71n], undefined, { model: 'llama' })).size).toBe(0);
        expect(await index.getRequestKey(7n, { model: '' })).toBe(71n);
        await index.evict(7n, 'engine', [gpu('pod1')], { model: 'llama' }); // another namespace: no-op
        expect(keysOf(await index.lookup([70n, 71n]))).toEqual([70n, 71n]);
        await index.evict(7n, 'engine', [gpu('pod1')], { model: '' });
        expect((await index.lookup([70n, 71n])).size).toBe(0);
      }),
    );

    it(
      'keeps the same request keys apart per model: evicting in one leaves the other',
      withIndex(async (index) => {
        await index.add(null, [1n, 2n], [gpu('podA')], { model: 'a' });
        await index.add(null, [1n, 2n], [gpu('podB')], { model: 'b' });
        await index.add(null, [1n, 2n], [gpu('podU')]);
        const pods = async (model?: string) =>
          sortEntries(
            (await index.lookup([1n], undefined, model === undefined ? undefined : { model })).get(1n),
          );
        expect(await pods('a')).toEqual(sortEntries([gpu('podA')]));
        expect(await pods('b')).toEqual(sortEntries([gpu('podB')]));
        expect(await pods()).toEqual(sortEntries([gpu('podU')]));
        await index.evict(1n, 'request', [gpu('podA')], { model: 'a' });
        await index.evict(1n, 'request', [gpu('podB')], { model: 'a' }); // podB is not in model a
        expect(await pods('a')).toEqual([]);
        expect(await pods('b')).toEqual(sortEntries([gpu('podB')]));
        expect(keysOf(await index.lookup([1n, 2n], ['podU']))).toEqual([1n, 2n]);
      }),
    );

    it(
      'clears a pod in every namespace at once',
      withIndex(async (index) => {
        await index.add(null, [1n], [gpu('pod1'), gpu('pod2')], { model: 'a' });
        await index.add(null, [1n], [gpu('pod1')], { model: 'b' });
        await index.add(null, [1n], [cpu('pod1')]);
        await index.clear('pod1');
        expect(sortEntries((await index.lookup([1n], undefined, { model: 'a' })).get(1n))).toEqual(
          sortEntries([gpu('pod2')]),
        );
        expect((await index.lookup([1n], undefined, { model: 'b' })).size).toBe(0);
        expect((await index.lookup([1n])).size).toBe(0);
      }),
    );
  });
}
