/**
 * Grafana dashboards as code: panels are built from the metric objects themselves, so a renamed
 * metric changes the dashboards (or breaks the dashboard test), never silently a panel.
 * `npm run dashboards` writes them to grafana/dashboards/.
 */
import type { Metric } from 'prom-client';
import { WorkerMetrics } from './metrics.js';

export interface Panel {
  title: string;
  unit: string;
  /** PromQL, one query per series. */
  targets: Array<{ expr: string; legend: string }>;
}

export interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
}

/** The name a metric was registered with (histograms expose _bucket/_sum/_count of it). */
function n(metric: Metric<string>): string {
  return (metric as unknown as { name: string }).name;
}

export function dashboards(m = new WorkerMetrics(false)): Dashboard[] {
  const rate = (metric: Metric<string>, by = '') => `sum${by ? ` by (${by})` : ''}(rate(${n(metric)}[1m]))`;
  const quantile = (q: number, metric: Metric<string>) =>
    `histogram_quantile(${q}, sum by (le) (rate(${n(metric)}_bucket[5m])))`;
  return [
    {
      uid: 'keyguard-fleet',
      title: 'keyguard — fleet',
      panels: [
        {
          title: 'Events consumed /s',
          unit: 'ops',
          targets: [{ expr: rate(m.eventsConsumed, 'kind'), legend: '{{kind}}' }],
        },
        {
          title: 'Consumer lag (records)',
          unit: 'short',
          targets: [{ expr: `sum by (topic) (${n(m.consumerLag)})`, legend: '{{topic}}' }],
        },
        {
          title: 'Kafka append → alert',
          unit: 's',
          targets: [
            { expr: quantile(0.5, m.appendToAlert), legend: 'p50' },
            { expr: quantile(0.99, m.appendToAlert), legend: 'p99' },
          ],
        },
        {
          title: 'Batch duration',
          unit: 's',
          targets: [
            { expr: quantile(0.5, m.batchDuration), legend: 'p50' },
            { expr: quantile(0.99, m.batchDuration), legend: 'p99' },
          ],
        },
        {
          title: 'Dead letters /s',
          unit: 'ops',
          targets: [{ expr: rate(m.deadLetters, 'code'), legend: '{{code}}' }],
        },
        {
          title: 'Redis round trip p99 and errors /s',
          unit: 's',
          targets: [
            {
              expr: `histogram_quantile(0.99, sum by (le, operation) (rate(${n(m.redisRoundTrip)}_bucket[5m])))`,
              legend: 'p99 {{operation}}',
            },
            { expr: rate(m.redisErrors, 'operation'), legend: 'errors {{operation}}' },
          ],
        },
        {
          title: 'Retries /s and paused partitions',
          unit: 'short',
          targets: [
            { expr: rate(m.retries, 'stage'), legend: 'retries {{stage}}' },
            { expr: `sum(${n(m.pausedPartitions)})`, legend: 'paused' },
          ],
        },
      ],
    },
    {
      uid: 'keyguard-detection',
      title: 'keyguard — detection',
      panels: [
        {
          title: 'Alerts /s by recommendation',
          unit: 'ops',
          targets: [{ expr: rate(m.alerts, 'recommendation'), legend: '{{recommendation}}' }],
        },
        {
          title: 'Alerts /s by severity',
          unit: 'ops',
          targets: [{ expr: rate(m.alerts, 'severity'), legend: '{{severity}}' }],
        },
        {
          title: 'Signals /s by detector',
          unit: 'ops',
          targets: [{ expr: rate(m.signals, 'detector'), legend: '{{detector}}' }],
        },
        {
          title: 'Value at risk in alerts (per hour)',
          unit: 'short',
          targets: [
            { expr: `sum by (currency) (increase(${n(m.valueAtRisk)}[1h]))`, legend: '{{currency}}' },
          ],
        },
        {
          title: 'Top symbols by alerts (last hour)',
          unit: 'short',
          targets: [
            {
              expr: `topk(10, sum by (symbol) (increase(${n(m.alertsBySymbol)}[1h])))`,
              legend: '{{symbol}}',
            },
          ],
        },
        {
          title: 'Event time → alert',
          unit: 's',
          targets: [
            { expr: quantile(0.5, m.eventToAlert), legend: 'p50' },
            { expr: quantile(0.99, m.eventToAlert), legend: 'p99' },
          ],
        },
      ],
    },
  ];
}

/** Grafana's JSON model for one dashboard (datasource uid `prometheus`, as provisioned). */
export function grafanaJson(d: Dashboard): Record<string, unknown> {
  return {
    uid: d.uid,
    title: d.title,
    schemaVersion: 39,
    time: { from: 'now-1h', to: 'now' },
    refresh: '10s',
    panels: d.panels.map((p, i) => ({
      id: i + 1,
      type: 'timeseries',
      title: p.title,
      gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: Math.floor(i / 2) * 8 },
      datasource: { type: 'prometheus', uid: 'prometheus' },
      fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
      targets: p.targets.map((t, j) => ({
        refId: String.fromCharCode(65 + j),
        expr: t.expr,
        legendFormat: t.legend,
        datasource: { type: 'prometheus', uid: 'prometheus' },
      })),
    })),
  };
}
