import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dashboards, grafanaJson } from '../../src/observability/dashboards.js';
import { keyguardRegistry } from '../helpers/metrics.js';

/** Metric families a PromQL expression reads (histogram series map to their family). */
function metricsIn(expr: string): string[] {
  return [
    ...new Set([...expr.matchAll(/keyguard_[a-z_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, ''))),
  ];
}

describe('Grafana dashboards', () => {
  it('are up to date in grafana/dashboards (npm run dashboards)', () => {
    for (const d of dashboards()) {
      const onDisk = JSON.parse(readFileSync(`grafana/dashboards/${d.uid}.json`, 'utf8'));
      expect(onDisk).toEqual(grafanaJson(d));
    }
  });

  it('query only metrics that keyguard processes register', () => {
    const registry = keyguardRegistry();
    const exprs = dashboards().flatMap((d) => d.panels.flatMap((p) => p.targets.map((t) => t.expr)));
    expect(exprs.length).toBeGreaterThan(10);
    for (const expr of exprs) {
      const names = metricsIn(expr);
      expect(names.length, expr).toBeGreaterThan(0);
      for (const name of names) expect(registry.getSingleMetric(name), `${name} in ${expr}`).toBeDefined();
    }
  });
});
