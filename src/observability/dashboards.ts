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
  /** PromQL, one query per series; `$job`, `$instance` and `$__rate_interval` are Grafana's variables. */
  targets: Array<{ expr: string; legend: string }>;
  /** How Grafana draws it: a time series (default), a single figure, or a state over time. */
  kind?: 'timeseries' | 'stat' | 'state-timeline';
  /** For state panels: what the values mean (e.g. 0 → closed, 1 → open). */
  states?: Record<number, { text: string; color: string }>;
}

export interface Dashboard {
  uid: string;
  title: string;
  /** Metrics the processes this dashboard watches export: the job and instance variables list their values. */
  jobMetrics: string[];
  panels: Panel[];
}

/** The name a metric was registered with (histograms expose _bucket/_sum/_count of it). */
function n(metric: Metric<string>): string {
  return (metric as unknown as { name: string }).name;
}

/** Every series of a dashboard is narrowed to the chosen jobs and instances. */
const SELECTOR = '{job=~"$job",instance=~"$instance"}';
/** `name{job…,instance…}`, or with more label matchers. */
function sel(name: string, matchers = ''): string {
  return matchers ? `${name}{job=~"$job",instance=~"$instance",${matchers}}` : `${name}${SELECTOR}`;
}

/**
 * A panel query with Grafana's variables filled in — every job and instance, the given rate
 * window — for running it on Prometheus directly (the tests, the screenshots).
 */
export function resolveQuery(expr: string, rateInterval = '1m'): string {
  return expr
    .replaceAll('$__rate_interval', rateInterval)
    .replaceAll('"$job"', '".*"')
    .replaceAll('"$instance"', '".*"');
}

/** CPU, memory and event-loop lag of the processes (prom-client's default metrics): the worker is CPU-bound. */
function processPanels(): Panel[] {
  return [
    {
      title: 'CPU (cores) by instance',
      unit: 'short',
      targets: [
        {
          expr: `sum by (instance) (rate(${sel('process_cpu_seconds_total')}[$__rate_interval]))`,
          legend: '{{instance}}',
        },
      ],
    },
    {
      title: 'Resident memory and heap used by instance',
      unit: 'bytes',
      targets: [
        { expr: `sum by (instance) (${sel('process_resident_memory_bytes')})`, legend: 'rss {{instance}}' },
        { expr: `sum by (instance) (${sel('nodejs_heap_size_used_bytes')})`, legend: 'heap {{instance}}' },
      ],
    },
    {
      title: 'Event-loop lag p99 by instance',
      unit: 's',
      targets: [
        { expr: `max by (instance) (${sel('nodejs_eventloop_lag_p99_seconds')})`, legend: '{{instance}}' },
      ],
    },
  ];
}

export function dashboards(
  m = new WorkerMetrics(false),
  w = new WebhookMetrics([], false),
  f = new MarketFeedMetrics([], false),
  c = new CollectorMetrics([], false),
): Dashboard[] {
  const rate = (metric: Metric<string>, by = '', matchers = '') =>
    `sum${by ? ` by (${by})` : ''}(rate(${sel(n(metric), matchers)}[$__rate_interval]))`;
  const increase = (metric: Metric<string>, by: string, window: string) =>
    `sum${by ? ` by (${by})` : ''}(increase(${sel(n(metric))}[${window}]))`;
  const quantile = (q: number, metric: Metric<string>, by = '') =>
    `histogram_quantile(${q}, sum by (le${by ? `, ${by}` : ''}) (rate(${sel(`${n(metric)}_bucket`)}[$__rate_interval])))`;
  const gauge = (agg: string, metric: Metric<string>, by = '') =>
    `${agg}${by ? ` by (${by})` : ''}(${sel(n(metric))})`;
  return [
    {
      uid: 'keyguard-fleet',
      title: 'keyguard — fleet',
      jobMetrics: [n(m.eventsConsumed)],
      panels: [
        {
          title: 'Events consumed /s',
          unit: 'ops',
          targets: [{ expr: rate(m.eventsConsumed, 'kind'), legend: '{{kind}}' }],
        },
        {
          title: 'Consumer lag (records)',
          unit: 'short',
          targets: [{ expr: gauge('sum', m.consumerLag, 'topic'), legend: '{{topic}}' }],
        },
        {
          title: 'Kafka append → alert',
          unit: 's',
          targets: [
            { expr: quantile(0.5, m.appendToAlert), legend: 'p50' },
            { expr: quantile(0.99, m.appendToAlert), legend: 'p99' },
            { expr: quantile(0.99, m.appendToProcessed), legend: 'p99, every record' },
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
              expr: quantile(0.99, m.redisRoundTrip, 'operation'),
              legend: 'p99 {{operation}}',
            },
            { expr: rate(m.redisErrors, 'operation'), legend: 'errors {{operation}}' },
          ],
        },
        {
          title: 'Retries /s by stage',
          unit: 'ops',
          targets: [{ expr: rate(m.retries, 'stage'), legend: '{{stage}}' }],
        },
        {
          title: 'Paused partitions',
          unit: 'short',
          kind: 'stat',
          targets: [{ expr: gauge('sum', m.pausedPartitions), legend: 'paused' }],
        },
        {
          title: 'Detection config version (latest known, by instance)',
          unit: 'short',
          kind: 'state-timeline',
          targets: [
            { expr: gauge('max', m.configVersion, 'instance, version'), legend: '{{version}} {{instance}}' },
          ],
        },
        ...processPanels(),
      ],
    },
    {
      uid: 'keyguard-detection',
      title: 'keyguard — detection',
      jobMetrics: [n(m.eventsConsumed)],
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
          targets: [{ expr: increase(m.valueAtRisk, 'currency', '1h'), legend: '{{currency}}' }],
        },
        {
          title: 'Top symbols by alerts (last hour)',
          unit: 'short',
          targets: [
            {
              expr: `topk(10, ${increase(m.symbolAlerts, 'symbol', '1h')})`,
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
        {
          title: 'Campaign and leak-cohort alerts (last hour)',
          unit: 'short',
          targets: [
            {
              expr: `sum by (detector) (increase(${sel(n(m.signals), 'detector=~"campaign_fan_in|leak_cohort"')}[1h]))`,
              legend: '{{detector}}',
            },
          ],
        },
        {
          title: 'Campaign aggregator: observations and batches /s',
          unit: 'ops',
          targets: [
            { expr: rate(m.campaignObservations), legend: 'observations (first buys, key anomalies)' },
            { expr: rate(m.campaignBatches), legend: 'aggregator batches' },
          ],
        },
      ],
    },
    {
      uid: 'keyguard-webhooks',
      title: 'keyguard — webhooks',
      jobMetrics: [n(w.deliveries)],
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
              expr: quantile(0.99, w.attemptDuration, 'endpoint'),
              legend: '{{endpoint}}',
            },
          ],
        },
        {
          title: 'Retries scheduled /s and pending deliveries',
          unit: 'short',
          targets: [
            { expr: rate(w.retriesScheduled, 'endpoint'), legend: 'retries {{endpoint}}' },
            { expr: gauge('sum', w.pending), legend: 'pending' },
          ],
        },
        {
          title: 'Revocation breaker',
          unit: 'short',
          kind: 'state-timeline',
          states: { 0: { text: 'closed', color: 'green' }, 1: { text: 'open', color: 'red' } },
          targets: [{ expr: gauge('max', w.breakerOpen), legend: 'breaker' }],
        },
        {
          title: 'Breaker trips and downgrades (last hour)',
          unit: 'short',
          targets: [
            { expr: increase(w.breakerTrips, '', '1h'), legend: 'trips' },
            { expr: increase(w.downgraded, 'recommendation', '1h'), legend: 'downgraded {{recommendation}}' },
          ],
        },
        {
          title: 'Endpoints',
          unit: 'short',
          kind: 'state-timeline',
          states: {
            0: { text: 'enabled', color: 'green' },
            1: { text: 'disabled (410 Gone)', color: 'red' },
          },
          targets: [{ expr: gauge('max', w.endpointDisabled, 'endpoint'), legend: '{{endpoint}}' }],
        },
        {
          title: 'Webhook dead letters /s and stage retries /s',
          unit: 'ops',
          targets: [
            { expr: rate(w.deadLetters, 'reason'), legend: 'dead letters {{reason}}' },
            { expr: rate(w.retries, 'stage'), legend: 'retries {{stage}}' },
          ],
        },
        ...processPanels(),
      ],
    },
    {
      uid: 'keyguard-ingest',
      title: 'keyguard — market feed and collector',
      jobMetrics: [n(f.requests), n(c.requests)],
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
          kind: 'stat',
          targets: [{ expr: `time() - ${gauge('max', f.lastPoll, 'exchange')}`, legend: '{{exchange}}' }],
        },
        {
          title: 'Poll duration p99',
          unit: 's',
          targets: [
            {
              expr: quantile(0.99, f.pollDuration, 'exchange'),
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

/** Grafana's reference to the `datasource` variable (a literal `${…}`, not a template). */
const DATASOURCE = { type: 'prometheus', uid: ['$', '{datasource}'].join('') };

/** A query variable over the dashboard's processes: every value selected by default ("All" is any). */
function labelVariable(name: string, label: string, query: string): Record<string, unknown> {
  return {
    name,
    label,
    type: 'query',
    datasource: DATASOURCE,
    query: { query, refId: `${name}-values` },
    definition: query,
    refresh: 2,
    includeAll: true,
    allValue: '.*',
    multi: true,
    current: { selected: true, text: ['All'], value: ['$__all'] },
    sort: 1,
  };
}

function fieldConfig(p: Panel): Record<string, unknown> {
  const mappings = p.states
    ? [
        {
          type: 'value',
          options: Object.fromEntries(
            Object.entries(p.states).map(([v, s], i) => [v, { text: s.text, color: s.color, index: i }]),
          ),
        },
      ]
    : [];
  return { defaults: { unit: p.unit, mappings }, overrides: [] };
}

/**
 * Grafana's JSON model for one dashboard: it imports into any Grafana — the Prometheus data source
 * is a variable (`datasource`), the series are narrowed by `job` and `instance` variables, and
 * rates use `$__rate_interval` (at least four scrape intervals, whatever the scrape interval is).
 */
export function grafanaJson(d: Dashboard): Record<string, unknown> {
  const watched = `__name__=~"${d.jobMetrics.join('|')}"`;
  return {
    uid: d.uid,
    title: d.title,
    schemaVersion: 39,
    time: { from: 'now-1h', to: 'now' },
    refresh: '10s',
    templating: {
      list: [
        {
          name: 'datasource',
          label: 'Data source',
          type: 'datasource',
          query: 'prometheus',
          current: {},
          refresh: 1,
        },
        labelVariable('job', 'Job', `label_values({${watched}}, job)`),
        labelVariable('instance', 'Instance', `label_values({${watched},job=~"$job"}, instance)`),
      ],
    },
    panels: d.panels.map((p, i) => ({
      id: i + 1,
      type: p.kind ?? 'timeseries',
      title: p.title,
      gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: Math.floor(i / 2) * 8 },
      datasource: DATASOURCE,
      fieldConfig: fieldConfig(p),
      ...(p.kind === 'stat'
        ? { options: { reduceOptions: { calcs: ['lastNotNull'] }, colorMode: 'value' } }
        : {}),
      targets: p.targets.map((t, j) => ({
        refId: String.fromCharCode(65 + j),
        expr: t.expr,
        legendFormat: t.legend,
        datasource: DATASOURCE,
      })),
    })),
  };
}
