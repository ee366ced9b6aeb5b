/**
 * Grafana dashboards as code: panels are built from the metric objects themselves, so a renamed
 * metric changes the dashboards (or breaks the dashboard test), never silently a panel.
 * `npm run dashboards` writes them to grafana/dashboards/.
 */
import type { Metric } from 'prom-client';
import { CollectorMetrics } from './collector-metrics.js';
import { MarketFeedMetrics } from './market-feed-metrics.js';
import { WorkerMetrics } from './metrics.js';
import { WebhookMetrics } from './webhook-metrics.js';

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

export function dashboards(
  m = new WorkerMetrics(false),
  w = new WebhookMetrics([], false),
  f = new MarketFeedMetrics([], false),
  c = new CollectorMetrics([], false),
): Dashboard[] {
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
              expr: `topk(10, sum by (symbol) (increase(${n(m.symbolAlerts)}[1h])))`,
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
    {
      uid: 'keyguard-webhooks',
      title: 'keyguard — webhooks',
      panels: [
        {
          title: 'Deliveries /s by outcome',
          unit: 'ops',
          targets: [{ expr: rate(w.deliveries, 'outcome'), legend: '{{outcome}}' }],
        },
        {
          title: 'Attempts /s by endpoint and result',
          unit: 'ops',
          targets: [{ expr: rate(w.attempts, 'endpoint, result'), legend: '{{endpoint}} {{result}}' }],
        },
        {
          title: 'Recommendation published → webhook accepted',
          unit: 's',
          targets: [
            { expr: quantile(0.5, w.publishToDelivered), legend: 'p50' },
            { expr: quantile(0.99, w.publishToDelivered), legend: 'p99' },
          ],
        },
        {
          title: 'Attempt duration p99 by endpoint',
          unit: 's',
          targets: [
            {
              expr: `histogram_quantile(0.99, sum by (le, endpoint) (rate(${n(w.attemptDuration)}_bucket[5m])))`,
              legend: '{{endpoint}}',
            },
          ],
        },
        {
          title: 'Retries scheduled /s and pending deliveries',
          unit: 'short',
          targets: [
            { expr: rate(w.retriesScheduled, 'endpoint'), legend: 'retries {{endpoint}}' },
            { expr: `sum(${n(w.pending)})`, legend: 'pending' },
          ],
        },
        {
          title: 'Revocation breaker: open, trips and downgrades (last hour)',
          unit: 'short',
          targets: [
            { expr: `max(${n(w.breakerOpen)})`, legend: 'open' },
            { expr: `sum(increase(${n(w.breakerTrips)}[1h]))`, legend: 'trips' },
            {
              expr: `sum by (recommendation) (increase(${n(w.downgraded)}[1h]))`,
              legend: 'downgraded {{recommendation}}',
            },
          ],
        },
        {
          title: 'Endpoints disabled (410 Gone)',
          unit: 'short',
          targets: [{ expr: `max by (endpoint) (${n(w.endpointDisabled)})`, legend: '{{endpoint}}' }],
        },
        {
          title: 'Webhook dead letters /s and stage retries /s',
          unit: 'ops',
          targets: [
            { expr: rate(w.deadLetters, 'reason'), legend: 'dead letters {{reason}}' },
            { expr: rate(w.retries, 'stage'), legend: 'retries {{stage}}' },
          ],
        },
      ],
    },
    {
      uid: 'keyguard-ingest',
      title: 'keyguard — market feed and collector',
      panels: [
        {
          title: 'Market feed requests /s by exchange and result',
          unit: 'ops',
          targets: [{ expr: rate(f.requests, 'exchange, result'), legend: '{{exchange}} {{result}}' }],
        },
        {
          title: 'Market events published /s',
          unit: 'ops',
          targets: [{ expr: rate(f.events, 'exchange, kind'), legend: '{{exchange}} {{kind}}' }],
        },
        {
          title: 'Seconds since the last complete poll',
          unit: 's',
          targets: [{ expr: `time() - max by (exchange) (${n(f.lastPoll)})`, legend: '{{exchange}}' }],
        },
        {
          title: 'Poll duration p99',
          unit: 's',
          targets: [
            {
              expr: `histogram_quantile(0.99, sum by (le, exchange) (rate(${n(f.pollDuration)}_bucket[5m])))`,
              legend: '{{exchange}}',
            },
          ],
        },
        {
          title: 'Collector requests /s by exchange and result',
          unit: 'ops',
          targets: [{ expr: rate(c.requests, 'exchange, result'), legend: '{{exchange}} {{result}}' }],
        },
        {
          title: 'Collected events /s',
          unit: 'ops',
          targets: [{ expr: rate(c.events, 'exchange, kind'), legend: '{{exchange}} {{kind}}' }],
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
