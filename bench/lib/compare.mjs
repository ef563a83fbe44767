// Runs "ours" and "peer" alternately several times on the same input and reports the median
// time and memory ratios (ours / peer: below 1 means we are faster / leaner) and their spread.
import { median } from './measure.mjs';

/**
 * @param {{ name: string, ours: { label: string, run: () => Promise<{seconds:number, peakRssMb:number}> },
 *           peer: { label: string, run: () => Promise<{seconds:number, peakRssMb:number}> },
 *           runs?: number, before?: () => Promise<void>, units?: { amount: number, unit: string } }} c
 */
export async function compare(c) {
  const runs = c.runs ?? 5;
  const ours = [];
  const peer = [];
  for (let i = 0; i < runs; i++) {
    // alternate which side goes first so warm caches favour neither
    const order = i % 2 === 0 ? ['ours', 'peer'] : ['peer', 'ours'];
    for (const side of order) {
      if (c.before) await c.before();
      const r = await c[side].run();
      (side === 'ours' ? ours : peer).push(r);
    }
  }
  const ratios = ours.map((o, i) => o.seconds / peer[i].seconds);
  const result = {
    name: c.name,
    ours: c.ours.label,
    peer: c.peer.label,
    runs,
    oursSeconds: median(ours.map((r) => r.seconds)),
    peerSeconds: median(peer.map((r) => r.seconds)),
    timeRatio: median(ratios),
    timeRatioMin: Math.min(...ratios),
    timeRatioMax: Math.max(...ratios),
    oursPeakRssMb: Math.max(...ours.map((r) => r.peakRssMb)),
    peerPeakRssMb: Math.max(...peer.map((r) => r.peakRssMb)),
  };
  result.memoryRatio = result.oursPeakRssMb / result.peerPeakRssMb;
  if (c.units) {
    result.throughput = `${(c.units.amount / result.oursSeconds).toFixed(1)} ${c.units.unit}/s (ours) vs ${(c.units.amount / result.peerSeconds).toFixed(1)} ${c.units.unit}/s (peer)`;
  }
  return result;
}
