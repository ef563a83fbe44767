import { type TestServer, startTestServer } from '@valkey-tools/test-utils';

/**
 * A 3-primary cluster of real valkey-server processes (slots split evenly, nodes met, waits for
 * `cluster_state:ok`). Stand-in until test-utils ships `startTestCluster()`.
 */
export interface TestCluster {
  nodes: TestServer[];
  url: string;
  stop(): Promise<void>;
}

export async function startThreePrimaryCluster(): Promise<TestCluster> {
  const nodes = await Promise.all([0, 1, 2].map(() => startTestServer({ cluster: true })));
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.stop()));
  };
  try {
    const ranges = [
      [0, 5460],
      [5461, 10922],
      [10923, 16383],
    ];
    await Promise.all(
      nodes.map((n, i) =>
        n.command('CLUSTER', 'ADDSLOTSRANGE', String(ranges[i]![0]), String(ranges[i]![1])),
      ),
    );
    for (const n of nodes.slice(1)) await n.command('CLUSTER', 'MEET', '127.0.0.1', String(nodes[0]!.port));
    const deadline = Date.now() + 30_000;
    for (;;) {
      const infos = await Promise.all(nodes.map((n) => n.command('CLUSTER', 'INFO')));
      const slotsReply = await nodes[0]!.command('CLUSTER', 'SLOTS');
      const ok = infos.every((i) => /cluster_state:ok/.test(i) && /cluster_known_nodes:3/.test(i));
      if (ok && (slotsReply.match(/127\.0\.0\.1/g) ?? []).length >= 3) break;
      if (Date.now() > deadline) throw new Error(`cluster did not become ok: ${infos.join(' | ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return { nodes, url: nodes[0]!.url, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
