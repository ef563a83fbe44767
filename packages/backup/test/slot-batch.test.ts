/**
 * Plain strings into a cluster gather into one MSET per slot: every pair goes out exactly once,
 * in an MSET whose keys all hash to the slot it is routed by, with the size it announced; a pair
 * too big for a slot's share goes out alone at once; a drain sends the rest within the window.
 */
import { describe, expect, it } from 'vitest';
import { keySlot, keySlotOf } from '../src/cluster/slot.js';
import { decodeCommandAt, writeHeader } from '../src/resp/encode.js';
import { MSET_ROOM } from '../src/restore/mset-batch.js';
import { SLOT_BATCH_BYTES, SlotMsetBatch } from '../src/restore/slot-batch.js';
import type { CommandEncoder } from '../src/io/pipeline.js';
import type { RestoreTarget } from '../src/restore/target.js';

interface Sent {
  slot: number;
  args: Buffer[];
}

/** A cluster target that records what it is sent, with a window of `room` commands. */
function fakeTarget(room = Number.POSITIVE_INFINITY) {
  const sent: Sent[] = [];
  let inFlight = 0;
  const target = {
    slotOfKey: (b: Buffer, s: number, e: number) => keySlotOf(b, s, e),
    hasRoom: (bytes: number) => inFlight < room && bytes <= MSET_ROOM,
    room: async () => {
      inFlight = 0;
    },
    sendEncoded: (
      bytes: number,
      _db: number,
      encode: CommandEncoder,
      _h: unknown,
      _c: unknown,
      slot = -1,
    ) => {
      const out = Buffer.alloc(bytes + 16, 0xee);
      expect(encode(out, 0)).toBe(bytes);
      inFlight++;
      sent.push({ slot, args: decodeCommandAt(out, 0) });
    },
  };
  return { target: target as unknown as RestoreTarget, sent, inFlight: () => inFlight };
}

function add(batch: SlotMsetBatch, key: string, value: Buffer): void {
  const k = Buffer.from(key);
  const size = 5 + String(k.length).length + k.length + 5 + String(value.length).length + value.length;
  expect(batch.begin(0, size, k, 0, k.length)).toBe(true);
  let p = writeHeader(batch.buf, batch.len, 36, k.length);
  p += k.copy(batch.buf, p);
  batch.buf[p++] = 13;
  batch.buf[p++] = 10;
  p = writeHeader(batch.buf, p, 36, value.length);
  p += value.copy(batch.buf, p);
  batch.buf[p++] = 13;
  batch.buf[p++] = 10;
  batch.commit(p);
}

describe('SlotMsetBatch', () => {
  it('sends every pair once, in MSETs of one slot each, the big ones alone', async () => {
    const { target, sent } = fakeTarget();
    let announced = 0;
    const batch = new SlotMsetBatch(target, {}, () => announced++);
    const want = new Map<string, string>();
    for (let i = 0; i < 20_000; i++) {
      // Most keys share a hash tag with others (100 slots), the rest spread over every slot; a
      // few values are bigger than a slot's share.
      const key = i % 5 === 0 ? `key:${i}` : `{tag${i % 100}}:${i}`;
      const value = i % 997 === 0 ? 'B'.repeat(SLOT_BATCH_BYTES + i) : `v${i}-${'x'.repeat(i % 50)}`;
      want.set(key, value);
      add(batch, key, Buffer.from(value));
    }
    const beforeDrain = sent.length;
    expect(beforeDrain).toBeGreaterThan(0);
    await batch.drain();
    expect(batch.count).toBe(0);
    expect(announced).toBe(sent.length);
    const got = new Map<string, string>();
    let keysInMsets = 0;
    for (const s of sent) {
      expect(s.args[0]!.toString()).toBe('MSET');
      expect(s.args.length % 2).toBe(1);
      for (let i = 1; i < s.args.length; i += 2) {
        const key = s.args[i]!.toString();
        expect(keySlot(key)).toBe(s.slot);
        expect(got.has(key)).toBe(false);
        got.set(key, s.args[i + 1]!.toString());
        keysInMsets++;
      }
    }
    expect(got).toEqual(want);
    expect(keysInMsets).toBe(want.size);
    // Gathered: the slots of the tagged keys got several keys per command.
    const tagged = sent.filter((m) => m.args[1]!.toString().startsWith('{tag'));
    const taggedKeys = tagged.reduce((n, m) => n + (m.args.length - 1) / 2, 0);
    expect(taggedKeys / tagged.length).toBeGreaterThan(4);
    // The big values went alone.
    for (const s of sent)
      if (s.args.length > 3)
        for (let i = 2; i < s.args.length; i += 2)
          expect(s.args[i]!.length).toBeLessThanOrEqual(SLOT_BATCH_BYTES);
  });

  it('keys that come slot by slot go out as many to an MSET as to a standalone server', async () => {
    const { target, sent } = fakeTarget();
    const batch = new SlotMsetBatch(target, {}, () => {});
    const want = new Map<string, string>();
    // 200 slots one after another, 150 keys each (a cluster node's snapshot), then keys of
    // every slot mixed again
    for (let t = 0; t < 200; t++)
      for (let i = 0; i < 150; i++) {
        const key = `{slot${t}}:${i}`;
        want.set(key, `v${i}`);
        add(batch, key, Buffer.from(`v${i}`));
      }
    for (let i = 0; i < 3000; i++) {
      want.set(`mixed:${i}`, 'm');
      add(batch, `mixed:${i}`, Buffer.from('m'));
    }
    await batch.drain();
    expect(batch.count).toBe(0);
    const got = new Map<string, string>();
    for (const s of sent)
      for (let i = 1; i < s.args.length; i += 2) {
        const key = s.args[i]!.toString();
        expect(keySlot(key)).toBe(s.slot);
        expect(got.has(key)).toBe(false);
        got.set(key, s.args[i + 1]!.toString());
      }
    expect(got).toEqual(want);
    // 150 keys of a slot: 64 + 64 + 22, not a slot's share (512 bytes, about 25 of these pairs)
    const grouped = sent.filter((m) => m.args[1]!.toString().startsWith('{slot'));
    expect(grouped.map((m) => (m.args.length - 1) / 2).sort((a, b) => b - a)[0]).toBe(64);
    expect(grouped.length).toBe(200 * 3);
  });

  it('a drain waits for room in the window between MSETs', async () => {
    const { target, sent, inFlight } = fakeTarget(3);
    const batch = new SlotMsetBatch(target, {}, () => {});
    for (let i = 0; i < 50; i++) add(batch, `k${i}`, Buffer.from('v'));
    expect(sent.length).toBe(0);
    await batch.drain();
    expect(sent.reduce((n, s) => n + (s.args.length - 1) / 2, 0)).toBe(50);
    expect(inFlight()).toBeLessThanOrEqual(3);
  });
});
