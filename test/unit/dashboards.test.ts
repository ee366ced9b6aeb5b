import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dashboards, grafanaJson, resolveQuery } from '../../src/observability/dashboards.js';
import { WorkerMetrics } from '../../src/observability/metrics.js';
import { keyguardRegistry } from '../helpers/metrics.js';

/** Metric families a PromQL expression reads (histogram series map to their family). */
function metricsIn(expr: string): string[] {
  return [
    ...new Set(
      [...expr.matchAll(/\b(keyguard|process|nodejs)_[a-z0-9_]+(?=\{)/g)].map((m) =>
        m[0].replace(/_(bucket|sum|count)$/, ''),
      ),
    ),
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
    // …with prom-client's default process metrics, which every keyguard process exports.
    const registry = keyguardRegistry();
    const defaults = new WorkerMetrics(true).registry;
    const exprs = dashboards().flatMap((d) => d.panels.flatMap((p) => p.targets.map((t) => t.expr)));
    expect(exprs.length).toBeGreaterThan(10);
    for (const expr of exprs) {
      const names = metricsIn(expr);
      expect(names.length, expr).toBeGreaterThan(0);
      for (const name of names)
        expect(
          registry.getSingleMetric(name) ?? defaults.getSingleMetric(name),
          `${name} in ${expr}`,
        ).toBeDefined();
    }
  });

  it('import into any Grafana: the data source, jobs and instances are variables, rates use $__rate_interval', () => {
    for (const d of dashboards()) {
      const json = grafanaJson(d) as {
        templating: { list: Array<{ name: string; type: string; query: unknown }> };
        panels: Array<{
          type: string;
          datasource: { uid: string };
          targets: Array<{ expr: string; datasource: { uid: string } }>;
        }>;
      };
      expect(json.templating.list.map((v) => `${v.name}:${v.type}`)).toEqual([
        'datasource:datasource',
        'job:query',
        'instance:query',
      ]);
      const uids = json.panels.flatMap((p) => [p.datasource.uid, ...p.targets.map((t) => t.datasource.uid)]);
      expect(new Set(uids)).toEqual(new Set([['$', '{datasource}'].join('')]));
      for (const { expr } of json.panels.flatMap((p) => p.targets)) {
        // Every series is narrowed by job and instance…
        for (const name of metricsIn(expr))
          expect(expr, expr).toMatch(new RegExp(`${name}(_bucket)?\\{job=~"\\$job",instance=~"\\$instance"`));
        // …and a rate's window follows the scrape interval (fixed windows only for "in the last hour").
        for (const [, window] of expr.matchAll(/\[([^\]]+)\]/g))
          expect(['$__rate_interval', '1h'], expr).toContain(window);
        expect(resolveQuery(expr)).not.toContain('$');
      }
    }
    const kinds = dashboards().flatMap((d) => d.panels.map((p) => p.kind ?? 'timeseries'));
    expect(kinds).toContain('state-timeline');
    expect(kinds).toContain('stat');
    const titles = dashboards().flatMap((d) => d.panels.map((p) => p.title));
    for (const t of [
      'CPU (cores) by instance',
      'Event-loop lag p99 by instance',
      'Campaign and leak-cohort alerts (last hour)',
    ])
      expect(titles).toContain(t);
  });
});
