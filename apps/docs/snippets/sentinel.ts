import { backup, restore } from '@valkey-tools/backup';
import { connect, parseConnectionUrl, redactUrl } from '@valkey-tools/core';
import { newValkeyIndex } from '@valkey-tools/kvcache-index';

// #region url
// Three Sentinels watching the primary they call "mymaster"; the server password before the @,
// the Sentinels' own password in the query.
const url =
  'valkey+sentinel://:server-pw@sentinel-1:26379,sentinel-2:26379,sentinel-3:26379/mymaster?sentinelPassword=sentinel-pw';
const target = parseConnectionUrl(url);
console.log(target.sentinel); // { name: 'mymaster', nodes: [{ host: 'sentinel-1', port: 26379 }, ...], password: 'sentinel-pw' }
console.log(target.password); // 'server-pw'
console.log(redactUrl(url)); // valkey+sentinel://:***@sentinel-1:26379,sentinel-2:26379,sentinel-3:26379/mymaster?sentinelPassword=***
// #endregion url

// #region connect
const conn = await connect(url); // the primary the Sentinels name now (role: 'replica' for a replica)
console.log(conn.sentinel); // { name: 'mymaster', role: 'primary', host: '10.0.0.11', port: 6379, answeredBy: 'sentinel-1:26379' }
console.log(conn.where); // valkey+sentinel://:***@.../mymaster?sentinelPassword=*** (primary 10.0.0.11:6379)
await conn.close();
// #endregion connect

// #region backup
// A snapshot of a replica keeps the load off the primary; the result says which node was read.
const saved = await backup({ url, output: 'nightly.rdb', role: 'replica' });
console.log(`read ${saved.sentinel?.role} ${saved.sentinel?.host}:${saved.sentinel?.port}`);

// Into the primary; if the Sentinels fail over meanwhile, the file is restored again into the
// new primary (replacing what the first try wrote there), and each failover is reported.
const loaded = await restore({
  input: 'nightly.rdb',
  url,
  replace: true,
  onFailover: (f) => console.warn(`failover after ${f.atMs} ms: ${f.from} -> ${f.to} (${f.reason})`),
});
console.log(`${loaded.keys} keys, ${loaded.failovers?.length ?? 0} failovers`);
// #endregion backup

// #region kvcache
// A long-running client: it listens to the Sentinels and follows a failover to the new primary.
const index = await newValkeyIndex({ address: url, keyPrefix: 'kv-prod' });
await index.add(null, [1n], [{ pod: 'pod-a', tier: 'gpu' }], { model: 'llama' });
await index.close();
// #endregion kvcache
