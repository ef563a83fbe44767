import { describe, expect, it } from 'vitest';
import { crc16, keySlot, keySlotOf } from './slot.js';

describe('keySlot', () => {
  it('matches the cluster spec test vectors', () => {
    expect(crc16(Buffer.from('123456789'))).toBe(0x31c3);
    expect(keySlot(Buffer.from('foo'))).toBe(12182);
    expect(keySlot(Buffer.from('bar'))).toBe(5061);
    expect(keySlot(Buffer.from('{user1000}.following'))).toBe(keySlot(Buffer.from('user1000')));
    expect(keySlot(Buffer.from('foo{}{bar}'))).toBe(keySlot(Buffer.from('foo{}{bar}')));
    expect(keySlot(Buffer.from('foo{}{bar}'))).toBe(crc16(Buffer.from('foo{}{bar}')) & 16383);
    expect(keySlot(Buffer.from('foo{{bar}}zap'))).toBe(keySlot(Buffer.from('{bar')));
    expect(keySlot(Buffer.from('foo{bar}{zap}'))).toBe(keySlot(Buffer.from('bar')));
  });

  it('takes a string key as its UTF-8 bytes (it returned 0 for every string)', () => {
    expect(keySlot('foo')).toBe(12182);
    expect(keySlot('{user1000}.following')).toBe(keySlot(Buffer.from('user1000')));
    expect(keySlot('ключ')).toBe(keySlot(Buffer.from('ключ', 'utf8')));
  });
});

describe('keySlotOf', () => {
  it('is keySlot of the bytes between start and end', () => {
    const buf = Buffer.from('xx{user1000}.followingyy');
    expect(keySlotOf(buf, 2, buf.length - 2)).toBe(keySlot('{user1000}.following'));
    const plain = Buffer.from('--foo--');
    expect(keySlotOf(plain, 2, 5)).toBe(12182);
    const empty = Buffer.from('[foo{}{bar}]');
    expect(keySlotOf(empty, 1, empty.length - 1)).toBe(keySlot('foo{}{bar}'));
    const open = Buffer.from('{abc}');
    expect(keySlotOf(open, 0, 4)).toBe(keySlot('{abc'));
  });
});
