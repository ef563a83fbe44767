import { InMemoryIndex, KvCacheIndexer, KvEventSubscriber } from '@valkey-tools/kvcache-index';

const indexer = new KvCacheIndexer({ index: new InMemoryIndex(), tokenProcessor: { blockSize: 16 } });

// #region subscribe
const subscriber = new KvEventSubscriber({
  endpoints: [
    'tcp://10.0.0.7:5557', // connect to a pod's publisher
    { endpoint: 'tcp://10.0.0.8:5557', replayEndpoint: 'tcp://10.0.0.8:5558' }, // with gap replay
  ],
  processor: indexer.createEventProcessor(),
  metrics: indexer.eventMetrics,
});
await subscriber.start();
// #endregion subscribe

// #region bind
// Or let every engine connect to one socket of yours.
const central = new KvEventSubscriber({
  endpoints: [{ endpoint: 'tcp://*:5557', bind: true }],
  processor: indexer.createEventProcessor(),
  metrics: indexer.eventMetrics,
});
await central.start();
// #endregion bind

// #region service
import { createKvCacheService } from '@valkey-tools/kvcache-index';

const service = await createKvCacheService({
  backend: 'valkey://10.0.0.20:6379', // or 'memory'
  zmqEndpoints: ['tcp://10.0.0.7:5557', 'tcp://10.0.0.8:5557'],
  port: 8080,
});
console.log(`scoring on ${service.url}/score`);
// #endregion service
