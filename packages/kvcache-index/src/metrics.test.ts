import { describe, expect, it } from 'vitest';
import { MetricsRegistry } from './metrics.js';

describe('MetricsRegistry', () => {
  it('renders the Prometheus text format', () => {
    const registry = new MetricsRegistry();
    const c = registry.counter('x_total', 'Things');
    c.inc();
    c.inc(2, { reason: 'a"b\\c\nd' });
    registry.gauge('depth', 'Queue depth', () => 7);
    const h = registry.histogram('lat_seconds', 'Latency', [0.1, 1]);
    h.observe(0.05);
    h.observe(0.5);
    h.observe(5);
    expect(registry.counter('x_total', 'again')).toBe(c);
    expect(registry.render()).toBe(
      [
        '# HELP x_total Things',
        '# TYPE x_total counter',
        'x_total 1',
        'x_total{reason="a\\"b\\\\c\\nd"} 2',
        '# HELP depth Queue depth',
        '# TYPE depth gauge',
        'depth 7',
        '# HELP lat_seconds Latency',
        '# TYPE lat_seconds histogram',
        'lat_seconds_bucket{le="0.1"} 1',
        'lat_seconds_bucket{le="1"} 2',
        'lat_seconds_bucket{le="+Inf"} 3',
        'lat_seconds_sum 5.55',
        'lat_seconds_count 3',
        '',
      ].join('\n'),
    );
  });
});
