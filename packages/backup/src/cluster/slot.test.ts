import { describe, expect, it } from 'vitest';
import { crc16, keySlot } from './slot.js';

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
