import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '@valkey-tools/test-utils';
import { Redis } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Command, command, encodeCommand } from '../src/resp/encode.js';
import { headerCommand } from '../src/resp/writer.js';
import { restore } from '../src/restore/restore.js';

// Commands are encoded side by side into shared chunks before iovalkey writes them: this file
// has thousands of keys with long names (EXISTS checks, SELECTs, RPUSH/SET of varied sizes, a
// value larger than a chunk), so every chunk boundary is crossed many times and any mis-sized
// encoding would shift replies onto the wrong commands.
const work = mkdtempSync(join(tmpdir(), 'vt-restore-wire-'));
let target: TestServer;
let file: string;
const keyName = (i: number) => `key:${i}:${'k'.repeat(1000 + (i % 97))}`;
const KEYS = 4000;

beforeAll(async () => {
  target = await startTestServer();
  const cmds: Command[] = [headerCommand({ source: 'test' })];
  for (let i = 0; i < KEYS; i++) {
    if (i % 1000 === 0) cmds.push(command('SELECT', i / 1000));
    const k = keyName(i);
    if (i % 3 === 0) cmds.push(command('SET', k, 'v'.repeat(i % 500)));
    else {
      cmds.push(command('RPUSH', k, 'a'.repeat(i % 300), String(i)));
      cmds.push(command('RPUSH', k, 'tail'));
    }
  }
  cmds.push(command('SELECT', 0), command('SET', 'huge', Buffer.alloc(300 * 1024, 120)));
  file = join(work, 'wire.valkey');
  writeFileSync(file, Buffer.concat(cmds.map(encodeCommand)));
});

afterAll(async () => {
  await target?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('restore on the wire', () => {
  it('sends every command intact across encode-chunk boundaries, and again with replace', async () => {
    for (const replace of [false, true]) {
      const r = await restore({ input: file, url: target.url, replace });
      expect(r).toMatchObject({ keys: KEYS + 1, errorCount: 0 });
    }
    const c = new Redis(target.url);
    try {
      for (let db = 0; db < 4; db++) {
        await c.select(db);
        expect(await c.dbsize()).toBe(db === 0 ? 1001 : 1000);
        const p = c.pipeline();
        for (let i = db * 1000; i < (db + 1) * 1000; i++) {
          if (i % 3 === 0) p.get(keyName(i));
          else p.lrange(keyName(i), 0, -1);
        }
        const replies = (await p.exec())!;
        replies.forEach(([err, v], j) => {
          const i = db * 1000 + j;
          expect(err).toBeNull();
          expect(v).toEqual(i % 3 === 0 ? 'v'.repeat(i % 500) : ['a'.repeat(i % 300), String(i), 'tail']);
        });
      }
      await c.select(0);
      expect((await c.getBuffer('huge'))!.equals(Buffer.alloc(300 * 1024, 120))).toBe(true);
    } finally {
      c.disconnect();
    }
  });
});
