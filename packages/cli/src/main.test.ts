import { CoreError } from '@valkey-tools/core';
import { describe, expect, it } from 'vitest';
import { describeError } from './main.js';

describe('describeError', () => {
  it('makes one line of a multi-line message, lists joined with ;', () => {
    const err = new CoreError(
      'ERR_INVALID_URL',
      'No valkey-server 9 found. Tried:\n  - system: a is 8.0.1\n  - cache: none\n',
      { hint: 'Install it' },
    );
    expect(describeError(err)).toBe(
      'No valkey-server 9 found. Tried: system: a is 8.0.1; cache: none. Install it',
    );
  });
  it('redacts passwords in URLs and explains common system errors', () => {
    expect(describeError(new Error('cannot reach redis://u:hunter2@h:1/0'))).toBe(
      'cannot reach redis://u:***@h:1/0',
    );
    const enoent = Object.assign(new Error('ENOENT: x'), { code: 'ENOENT', path: '/nope' });
    expect(describeError(enoent)).toBe('no such file or directory: /nope');
    expect(describeError('plain')).toBe('plain');
  });
  it('keeps the space before a file extension or a relative path (it printed "known:.rdb,.valkey")', () => {
    expect(describeError(new Error('(known: .rdb, .valkey, .jsonl); or ./x.rdb .'))).toBe(
      '(known: .rdb, .valkey, .jsonl); or ./x.rdb.',
    );
  });
});
