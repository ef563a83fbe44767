// An ES module consumer of every published package, installed from their packed tarballs.
import assert from 'node:assert/strict';
import { parseConnectionUrl } from '@valkey-tools/core';
import { parseConfig, serializeConfig } from '@valkey-tools/config';
import { PROVIDERS } from '@valkey-tools/binaries';
import { keySlot } from '@valkey-tools/backup';
import { crc64 } from '@valkey-tools/backup/codec';
import { InMemoryIndex, KvCacheIndexer } from '@valkey-tools/kvcache-index';
import { commands } from '@valkey-tools/cli/definitions';

assert.equal(parseConnectionUrl('valkey://localhost:6380/2').port, 6380);
assert.match(serializeConfig({ port: 6380 }), /^port 6380$/m);
assert.ok(parseConfig('port 6380\n'));
assert.ok(PROVIDERS.includes('download'));
assert.equal(keySlot(Buffer.from('foo')), 12182);
assert.equal(crc64(Buffer.from('123456789')).toString(16), 'e9c6d914c4b8d9ca');
const index = new InMemoryIndex();
const indexer = new KvCacheIndexer({ index });
const tokens = Array.from({ length: 32 }, (_, i) => i + 1);
await index.add(null, indexer.computeRequestKeys(tokens, 'm'), [{ pod: 'pod-b', tier: 'gpu' }], {
  model: 'm',
});
assert.deepEqual([...(await indexer.scoreTokens(tokens, 'm'))], [['pod-b', 2]]);
assert.ok(commands.length > 10);
console.log('esm consumer ok');
