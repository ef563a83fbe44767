import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestServer, serverState, serverPool } from '@valkey-tools/test-utils';
import { Redis } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convert } from '../src/convert/convert.js';
import { RespCommandParser } from '../src/resp/parser.js';
import { restore } from '../src/restore/restore.js';

const work = mkdtempSync(join(tmpdir(), 'vt-convert-huge-'));
let pool: Awaited<ReturnType<typeof serverPool>>;
const commandView = { ignoreConsumerTimes: true, ignoreLayout: true };

beforeAll(async () => {
  pool = await serverPool(2);
});

afterAll(async () => {
  await pool?.stop();
  rmSync(work, { recursive: true, force: true });
});

const fresh = async (): Promise<TestServer> => pool.take();

describe('huge keys', () => {
  it('stream through RDB -> RESP part by part (APPEND pieces, batched parts, stream groups after the entries)', async () => {
    const big = await fresh();
    const c = new Redis(big.url);
    const items = Array.from({ length: 25_000 }, (_, i) => `v${i}`);
    await c.rpush('huge:list', ...items);
    await c.sadd('huge:set', ...items.slice(0, 12_000));
    await c.zadd('huge:zset', ...items.slice(0, 12_000).flatMap((m, i) => [i / 3, m]));
    await c.hset('huge:hash', ...items.slice(0, 12_000).flatMap((m) => [m, m]));
    const pipe = c.pipeline();
    for (let i = 1; i <= 11_000; i++) pipe.xadd('huge:stream', `${i}-1`, 'f', i);
    await pipe.exec();
    await c.xgroup('CREATE', 'huge:stream', 'g', '0');
    await c.xreadgroup('GROUP', 'g', 'alice', 'COUNT', 3, 'STREAMS', 'huge:stream', '>');
    await c.set('huge:string', Buffer.alloc(9 * 1024 * 1024, 'ab'));
    await c.pexpireat('huge:list', 4102444800000);
    await c.save();
    c.disconnect();
    const out = join(work, 'huge.valkey');
    await convert({ input: join(big.dir, 'dump.rdb'), output: out, batchSize: 500 });
    const names = new RespCommandParser().push(readFileSync(out)).map((x) => x.args[0]!.toString());
    expect(names.filter((n) => n === 'APPEND').length).toBeGreaterThanOrEqual(8);
    const target = await fresh();
    const r = await restore({ input: out, url: target.url });
    expect(r).toMatchObject({ keys: 6, errorCount: 0 });
    expect(await serverState(target.url, commandView)).toEqual(await serverState(big.url, commandView));
  });
});
