import { Registry } from 'prom-client';
import { expect } from 'vitest';
import { CollectorMetrics } from '../../src/observability/collector-metrics.js';
import { type Dashboard, resolveQuery } from '../../src/observability/dashboards.js';
import { MarketFeedMetrics } from '../../src/observability/market-feed-metrics.js';
import { WorkerMetrics } from '../../src/observability/metrics.js';
import { WebhookMetrics } from '../../src/observability/webhook-metrics.js';
import { startPrometheus } from '../services/prometheus.js';

/** The value of one sample line of the exposition, summed over matching label sets. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts a real Prometheus (the Debian package) scraping `target`, waits for a few scrapes, and
 * expects every panel query of `boards` to return data from its HTTP API. Returns its stop function.
 */
export async function expectPanelsHaveData(
  target: string | string[],
  boards: Dashboard[],
): Promise<() => Promise<void>> {
  const prometheus = await startPrometheus(Array.isArray(target) ? target : [target]);
  const query = async (expr: string) => {
    const r = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await r.json()) as { status: string; data: { result: unknown[] } };
    expect(body.status, expr).toBe('success');
    return body.data.result;
  };
  try {
    for (let i = 0; i < 100 && (await query('count_over_time(up[1m])')).length === 0; i++) await pause(200);
    await pause(3000); // a few scrapes, so rates have two samples
    for (const d of boards) {
      for (const p of d.panels) {
        for (const t of p.targets) {
          // Grafana's $job/$instance as "All", $__rate_interval as four scrape intervals (15 s here).
          const expr = resolveQuery(t.expr, '1m');
          expect((await query(expr)).length, `${d.uid} / ${p.title}: ${expr}`).toBeGreaterThan(0);
        }
      }
    }
  } catch (err) {
    await prometheus.stop();
    throw err;
  }
  return () => prometheus.stop();
}

/** Every metric any keyguard process registers (worker, dispatcher, market feed, collector). */
export function keyguardRegistry(): Registry {
  return Registry.merge([
    new WorkerMetrics(false).registry,
    new WebhookMetrics([], false).registry,
    new MarketFeedMetrics([], false).registry,
    new CollectorMetrics([], false).registry,
  ]);
}
