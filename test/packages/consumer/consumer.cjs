// A CommonJS consumer of every published package, installed from their packed tarballs
// (test/packages/published.test.ts). require() of the ESM builds needs Node >= 20.19.
const assert = require('node:assert/strict');
const core = require('@valkey-tools/core');
const config = require('@valkey-tools/config');
const binaries = require('@valkey-tools/binaries');
const backup = require('@valkey-tools/backup');
const codec = require('@valkey-tools/backup/codec');
const kvcache = require('@valkey-tools/kvcache-index');
const cli = require('@valkey-tools/cli/definitions');

async function main() {
  assert.deepEqual(
    { ...core.parseConnectionUrl('valkey://localhost:6380/2') },
    { scheme: 'redis', tls: false, host: 'localhost', port: 6380, db: 2 },
  );
  assert.match(config.serializeConfig({ port: 6380, maxmemory: '1gb' }), /^port 6380\nmaxmemory 1gb$/m);
  assert.ok(binaries.PROVIDERS.includes('system'));
  assert.ok(binaries.knownVersions().length > 0);
  assert.equal(backup.keySlot(Buffer.from('foo')), 12182);
  assert.equal(codec.crc64(Buffer.from('123456789')).toString(16), 'e9c6d914c4b8d9ca');

  const index = new kvcache.InMemoryIndex();
  const indexer = new kvcache.KvCacheIndexer({ index });
  const tokens = Array.from({ length: 64 }, (_, i) => i + 1);
  await index.add(null, indexer.computeRequestKeys(tokens, 'm'), [{ pod: 'pod-a', tier: 'gpu' }], {
    model: 'm',
  });
  assert.deepEqual([...(await indexer.scoreTokens(tokens, 'm'))], [['pod-a', 4]]);
  assert.equal(cli.findCommand('kvcache serve')?.name, 'kvcache serve');

  let zeromqInstalled = true;
  try {
    require.resolve('zeromq');
  } catch {
    zeromqInstalled = false;
  }
  if (!zeromqInstalled) {
    const subscriber = new kvcache.KvEventSubscriber({
      endpoints: ['tcp://127.0.0.1:5557'],
      processor: indexer.createEventProcessor(),
    });
    const err = await subscriber.start().then(
      () => assert.fail('subscribing without zeromq must fail'),
      (e) => e,
    );
    assert.ok(err instanceof kvcache.KvCacheError, String(err));
    assert.equal(err.code, 'ERR_MISSING_DEPENDENCY');
    assert.match(err.hint, /npm install zeromq/);
  }
  console.log(`cjs consumer ok (zeromq ${zeromqInstalled ? 'installed' : 'absent'})`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
