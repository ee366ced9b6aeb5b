/**
 * A reference price the attacker cannot move cheaply.
 *
 * Every fill of a victim is also a public print, so during an attack the last price *is* the
 * attacker's price. The reference is therefore the count-weighted median of per-minute print
 * medians over the hour that ends one minute before the event (lagged), using only minutes that
 * were "normal" when they closed: a minute whose median strayed more than `anomalyDeviation` from
 * the reference of its time is left out, so a pump or an attack freezes the reference at its
 * pre-pump level. Should a new price level persist for `reanchorMs` (a genuine repricing), the
 * reference re-anchors to it. Where the last hour has fewer than `minPrints` prints, older normal
 * minutes (up to `maxAgeMs`) are used.
 */
import type { DetectionConfig } from '../config/detection.js';

export interface MinuteBucket {
  start: number;
  median: number;
  prints: number;
  normal: boolean;
}

export interface ReferencePrice {
  price: number;
  /** Relative median absolute deviation of the minute medians: the pair's own noise. */
  dispersion: number;
  prints: number;
  minutes: number;
  /** Event time between the newest minute used and the event. */
  ageMs: number;
  source: 'lagged_median_of_normal_minutes';
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function weightedMedian(items: Array<{ value: number; weight: number }>): number {
  const sorted = [...items].sort((a, b) => a.value - b.value);
  const total = sorted.reduce((s, i) => s + i.weight, 0);
  let acc = 0;
  for (const item of sorted) {
    acc += item.weight;
    if (acc >= total / 2) return item.value;
  }
  return sorted[sorted.length - 1]!.value;
}

/** Computes the reference at event time `at` from closed minute buckets (oldest first). */
export function referenceFrom(
  buckets: readonly MinuteBucket[],
  at: number,
  cfg: DetectionConfig['reference'],
): ReferencePrice | undefined {
  const newestEnd = at - cfg.lagMs;
  const windowStart = newestEnd - cfg.lookbackMs;
  const oldest = at - cfg.maxAgeMs;
  const used: MinuteBucket[] = [];
  let prints = 0;
  for (let i = buckets.length - 1; i >= 0; i--) {
    const b = buckets[i]!;
    if (b.start + cfg.bucketMs > newestEnd) continue;
    if (b.start < oldest) break;
    if (!b.normal) continue;
    if (b.start < windowStart && prints >= cfg.minPrints) break;
    used.push(b);
    prints += b.prints;
  }
  if (prints < cfg.minPrints || used.length === 0) return undefined;
  const price = weightedMedian(used.map((b) => ({ value: b.median, weight: b.prints })));
  const dispersion = used.length >= 3 ? median(used.map((b) => Math.abs(b.median / price - 1))) : 0;
  return {
    price,
    dispersion,
    prints,
    minutes: used.length,
    ageMs: at - (used[0]!.start + cfg.bucketMs),
    source: 'lagged_median_of_normal_minutes',
  };
}
