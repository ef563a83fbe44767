// A TypeScript CommonJS consumer (`module: nodenext`, a .cts file compiles to require() calls) of every
// published package, type-checked against the packed .d.ts files. Needs TypeScript >= 5.8.
import assert = require('node:assert/strict');
import core = require('@valkey-tools/core');
import config = require('@valkey-tools/config');
import binaries = require('@valkey-tools/binaries');
import backup = require('@valkey-tools/backup');
import codec = require('@valkey-tools/backup/codec');
import kvcache = require('@valkey-tools/kvcache-index');
import cli = require('@valkey-tools/cli/definitions');

async function main(): Promise<void> {
  const url: { host: string; port: number } = core.parseConnectionUrl('valkey://localhost:6380/2');
  assert.equal(url.port, 6380);
  const text: string = config.serializeConfig({ port: 6380 });
  assert.match(text, /^port 6380$/m);
  assert.ok(binaries.PROVIDERS.length > 0);
  const slot: number = backup.keySlot(Buffer.from('foo'));
  const crc: bigint = codec.crc64(Buffer.from('123456789'));
  assert.equal(slot, 12182);
  assert.equal(crc.toString(16), 'e9c6d914c4b8d9ca');
  const index: kvcache.KvBlockIndex = new kvcache.InMemoryIndex();
  const indexer = new kvcache.KvCacheIndexer({ index });
  const tokens = Array.from({ length: 16 }, (_, i) => i + 1);
  await index.add(null, indexer.computeRequestKeys(tokens, 'm'), [{ pod: 'pod-c', tier: 'gpu' }], {
    model: 'm',
  });
  const scores: Map<string, number> = await indexer.scoreTokens(tokens, 'm');
  assert.equal(scores.get('pod-c'), 1);
  assert.ok(cli.commands.length > 10);
  console.log('cts consumer ok');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
