/**
 * `npm run screenshot`: renders all four dashboards from real data into grafana/screenshots/*.png
 * with headless Chromium (Debian package `chromium`): a worker on a real Kafka and Redis processing
 * a simulated stream with attacks, the webhook dispatcher delivering its recommendations to a local
 * endpoint that fails some first attempts, and the market feed and the collector polling a local
 * exchange-shaped server — all scraped by a real Prometheus. The page draws each panel's PromQL
 * (the dashboards' own queries, variables filled in) from Prometheus' query_range answers — time
 * series, stats and state timelines, with a time axis — so it shows what Grafana would.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { campaignTtlSeconds, RedisCampaignStore } from '../src/campaign/campaign-store.js';
import { KafkaPollPublisher } from '../src/collector/poll-publisher.js';
import type { MarketEvent } from '../src/events/schema.js';
import { createMissingTopics, topicLayout } from '../src/kafka/topics.js';
import { createLogger } from '../src/logger.js';
import { type Dashboard, dashboards, resolveQuery } from '../src/observability/dashboards.js';
import { startOpsServer } from '../src/observability/http-server.js';
import { WorkerMetrics } from '../src/observability/metrics.js';
import { syntheticScenario } from '../src/simulate/synthetic-scenario.js';
import { RedisBaselineStore } from '../src/state/redis-store.js';
import { CampaignAggregator } from '../src/worker/campaign-aggregator.js';
import { Worker } from '../src/worker/worker.js';
import { fakeBinanceCollector, fakeBinancePoller } from '../test/helpers/collector.js';
import { FakeExchange } from '../test/helpers/fake-exchange.js';
import { fastForwardConfig } from '../test/helpers/fast-forward.js';
import { createTopics, kafkaClient, produceInOrder, testEnv } from '../test/helpers/kafka.js';
import { WebhookReceiver } from '../test/helpers/webhook-receiver.js';
import { newSecret, recommendation, startDispatcher } from '../test/helpers/webhooks.js';
import { waitUntilConsumed } from '../test/helpers/worker-process.js';
import { startServices } from '../test/services/harness.js';
import { startPrometheus } from '../test/services/prometheus.js';

const chromium = spawnSync('chromium', ['--version'], { encoding: 'utf8' });
if (chromium.status !== 0) {
  console.error('chromium not found: apt-get install -y chromium');
  process.exit(2);
}

const services = await startServices();
const env = testEnv(services.kafkaBrokers, services.redisUrl, { KEYGUARD_INPUT_PARTITIONS: '3' });
const kafka = kafkaClient(services.kafkaBrokers);
await createTopics(kafka, env);
const cfg = fastForwardConfig();
const metrics = new WorkerMetrics();
const store = new RedisBaselineStore({
  url: services.redisUrl,
  keyPrefix: env.KEYGUARD_REDIS_PREFIX,
  ttlSeconds: 3600,
  onRoundTrip: (operation, seconds, ok) => {
    metrics.redisRoundTrip.observe({ operation }, seconds);
    if (!ok) metrics.redisErrors.inc({ operation });
  },
});
const worker = new Worker({
  kafka: kafkaClient(services.kafkaBrokers),
  env,
  cfg,
  store,
  metrics,
  log: createLogger('error'),
});
const campaignStore = new RedisCampaignStore(
  services.redisUrl,
  env.KEYGUARD_REDIS_PREFIX,
  campaignTtlSeconds(cfg),
);
const campaigns = new CampaignAggregator({
  kafka,
  env,
  cfg,
  store: campaignStore,
  metrics,
  log: createLogger('error'),
});
const ops = await startOpsServer(0, metrics.registry, () => worker.readiness());

// The dispatcher: the worker's recommendations to an endpoint that answers 503 to one first attempt in three.
const secret = newSecret();
const receiver = await new WebhookReceiver(secret, (id, attempt) =>
  attempt === 1 && id.charCodeAt(id.length - 1) % 3 === 0 ? 503 : 200,
).start();
const dispatcher = await startDispatcher(
  kafka,
  env,
  {
    endpoints: [{ id: 'platform', url: receiver.url, secrets: [secret], timeoutMs: 2000 }],
    // Trips near the end of the run: the platform-wide trickle below adds up to a mass revocation.
    breaker: { windowMs: 60_000, maxActions: 30, cooldownMs: 60_000 },
  },
  true,
);
const dispatcherOps = await startOpsServer(0, dispatcher.metrics.registry, () =>
  dispatcher.dispatcher.readiness(),
);

// The market feed and the collector, polling a local exchange-shaped server that keeps trading.
const exchange = await new FakeExchange().start();
await createMissingTopics(kafka, [env.KEYGUARD_TOPIC_MARKET, env.KEYGUARD_TOPIC_FILLS], topicLayout(env));
const ingestEnv = { ...env, KEYGUARD_TOPIC_FILLS: `${env.KEYGUARD_TOPIC_FILLS}.collected` };
await createMissingTopics(kafka, [ingestEnv.KEYGUARD_TOPIC_FILLS], topicLayout(env));
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
await producer.connect();
const log = createLogger('silent');
// The market feed publishes to a topic of its own: the worker's stream is the simulated one.
const feedTopic = `${env.KEYGUARD_TOPIC_MARKET}.polled`;
await createMissingTopics(kafka, [feedTopic], topicLayout(env));
const sendPolled = async (events: MarketEvent[]) => {
  await producer.send({
    topic: feedTopic,
    acks: -1,
    messages: events.map((e) => ({ value: JSON.stringify(e) })),
  });
};
const { poller, metrics: feedMetrics } = fakeBinancePoller(exchange, sendPolled, log);
const redis = new Redis(services.redisUrl);
const publisher = new KafkaPollPublisher(kafka, producer, ingestEnv, () => false);
const { collector, metrics: collectorMetrics } = fakeBinanceCollector(
  exchange,
  redis,
  env.KEYGUARD_REDIS_PREFIX,
  publisher,
  log,
);
const feedOps = await startOpsServer(0, feedMetrics.registry, async () => ({ ready: true, detail: {} }));
const collectorOps = await startOpsServer(0, collectorMetrics.registry, async () => ({
  ready: true,
  detail: {},
}));
let polling = true;
const ingest = (async () => {
  for (let i = 0; polling; i++) {
    const t = Date.now();
    for (let k = 0; k < 1 + (i % 5); k++)
      exchange.trades.binance.push({ id: i * 10 + k, price: 70 + Math.sin(i / 7), amount: 1, time: t - k });
    if (i % 3 === 0)
      exchange.myTrades.push({ id: i, orderId: i, price: 70, qty: 1, time: t, isBuyer: i % 2 === 0 });
    // A stretch of failures mid-run, as an exchange outage would look.
    if (i === 40) exchange.failures.set('/binance/api/v3/aggTrades', [500, 500, 500, 500, 500, 500]);
    const events = await poller.pollOnce().catch(() => []);
    if (events.length > 0) await sendPolled(events);
    await collector.pollOnce().catch(() => 0);
    // Recommendations from elsewhere on the platform (as the workers publish them), for the dispatcher.
    if (i % 2 === 0) {
      const recs = Array.from({ length: 1 + (i % 3) }, () => recommendation({ timestamp: Date.now() }));
      await producer.send({
        topic: env.KEYGUARD_TOPIC_RECOMMENDATIONS,
        acks: -1,
        messages: recs.map((r) => ({ key: r.accountId, value: JSON.stringify(r) })),
      });
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
})();

const prometheus = await startPrometheus(
  [ops, dispatcherOps, feedOps, collectorOps].map((o) => `127.0.0.1:${o.port}`),
);
await worker.start();
await campaigns.start();

const scenario = syntheticScenario({ seed: 21, days: 2, accounts: 80, victims: 4, attackStrength: 'strong' });
const events = scenario.events;
const chunks = 40;
const started = Date.now();
console.log(`streaming ${events.length} events in ${chunks} chunks…`);
for (let i = 0; i < chunks; i++) {
  await produceInOrder(
    kafka,
    env,
    events.slice((i * events.length) / chunks, ((i + 1) * events.length) / chunks),
  );
  await new Promise((r) => setTimeout(r, 1500));
}
await waitUntilConsumed(kafka, env, 120_000);
await new Promise((r) => setTimeout(r, 5000));
const end = Date.now() / 1000;
const start = started / 1000 - 10;

type Series = { metric: Record<string, string>; values: Array<[number, string]> };
async function range(expr: string): Promise<Series[]> {
  const q = new URLSearchParams({ query: expr, start: String(start), end: String(end), step: '2' });
  const r = (await (await fetch(`${prometheus.url}/api/v1/query_range?${q}`)).json()) as {
    data: { result: Series[] };
  };
  return r.data.result;
}

const COLORS = ['#73bf69', '#f2cc0c', '#5794f2', '#ff9830', '#f2495c', '#b877d9', '#8ab8ff', '#ca95e5'];
const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
const legendOf = (template: string, labels: Record<string, string>) =>
  template.replace(/\{\{(\w+)\}\}/g, (_, k: string) => labels[k] ?? '') || 'value';
const fmt = (v: number, unit: string): string =>
  unit === 'bytes'
    ? `${(v / 1048576).toPrecision(3)} MiB`
    : unit === 's'
      ? v < 1
        ? `${(v * 1000).toPrecision(3)} ms`
        : `${v.toPrecision(3)} s`
      : Math.abs(v) >= 1000
        ? `${(v / 1000).toPrecision(3)}k`
        : v.toPrecision(3);

const clock = (t: number) => new Date(t * 1000).toISOString().slice(11, 19);

/** The time axis: five ticks, HH:MM:SS (UTC). */
function timeAxis(x: (t: number) => number, yAt: number): string {
  return [0, 0.25, 0.5, 0.75, 1]
    .map((f) => {
      const t = start + f * (end - start);
      const anchor = f === 0 ? 'start' : f === 1 ? 'end' : 'middle';
      return `<line x1="${x(t)}" x2="${x(t)}" y1="${yAt}" y2="${yAt + 4}" stroke="#5a5f63"/><text x="${x(t)}" y="${yAt + 15}" text-anchor="${anchor}">${clock(t)}</text>`;
    })
    .join('');
}

interface Line {
  name: string;
  points: Array<[number, number]>;
}

async function panelLines(p: Dashboard['panels'][number]): Promise<Line[]> {
  const lines: Line[] = [];
  for (const t of p.targets) {
    for (const s of await range(resolveQuery(t.expr, '10s'))) {
      const points = s.values
        .map(([x, y]) => [x, Number(y)] as [number, number])
        .filter(([, y]) => Number.isFinite(y));
      if (points.length > 0) lines.push({ name: legendOf(t.legend, s.metric), points });
    }
  }
  return lines;
}

const W = 600;
const H = 230;
const pad = { l: 60, r: 10, t: 10, b: 30 };
const xOf = (t: number) => pad.l + ((t - start) / (end - start)) * (W - pad.l - pad.r);

function timeseriesSvg(p: Dashboard['panels'][number], lines: Line[]): string {
  const ys = lines.flatMap((l) => l.points.map(([, y]) => y));
  const top = Math.max(0, ...ys);
  const ymax = top > 0 ? top * 1.1 : 1;
  const y = (v: number) => H - pad.b - (v / ymax) * (H - pad.t - pad.b);
  const grid = [0, 0.25, 0.5, 0.75, 1]
    .map(
      (f) =>
        `<line x1="${pad.l}" x2="${W - pad.r}" y1="${y(f * ymax)}" y2="${y(f * ymax)}" stroke="#2c3235"/><text x="${pad.l - 6}" y="${y(f * ymax) + 4}" text-anchor="end">${fmt(f * ymax, p.unit)}</text>`,
    )
    .join('');
  const paths = lines
    .slice(0, COLORS.length)
    .map(
      (l, i) =>
        `<polyline fill="none" stroke="${COLORS[i]}" stroke-width="1.6" points="${l.points.map(([a, b]) => `${xOf(a).toFixed(1)},${y(b).toFixed(1)}`).join(' ')}"/>`,
    )
    .join('');
  return `${grid}${paths}${timeAxis(xOf, H - pad.b)}`;
}

/** A state timeline: one band per series, coloured by its value's state. */
function stateSvg(p: Dashboard['panels'][number], lines: Line[]): string {
  const rows = lines.slice(0, 6);
  const band = Math.min(36, (H - pad.t - pad.b) / Math.max(1, rows.length) - 6);
  const palette: Record<string, string> = { green: '#73bf69', red: '#f2495c' };
  const colour = (v: number, i: number) =>
    p.states?.[v] ? (palette[p.states[v]!.color] ?? p.states[v]!.color) : COLORS[(i + v) % COLORS.length];
  const label = (v: number) => p.states?.[v]?.text ?? fmt(v, p.unit);
  const out: string[] = [];
  rows.forEach((l, i) => {
    const yTop = pad.t + i * (band + 6);
    out.push(
      `<text x="${pad.l - 6}" y="${yTop + band / 2 + 4}" text-anchor="end">${esc(l.name.slice(0, 14))}</text>`,
    );
    let from = 0;
    for (let k = 1; k <= l.points.length; k++) {
      if (k < l.points.length && l.points[k]![1] === l.points[from]![1]) continue;
      const [t0, v] = l.points[from]!;
      const t1 = k < l.points.length ? l.points[k]![0] : end;
      const x0 = xOf(t0);
      const w = Math.max(1, xOf(t1) - x0);
      out.push(
        `<rect x="${x0.toFixed(1)}" y="${yTop}" width="${w.toFixed(1)}" height="${band}" fill="${colour(v, i)}" opacity="0.85"/>`,
      );
      if (w > 60)
        out.push(
          `<text x="${(x0 + 6).toFixed(1)}" y="${yTop + band / 2 + 4}" style="fill:#111217">${esc(label(v))}</text>`,
        );
      from = k;
    }
  });
  return `${out.join('')}${timeAxis(xOf, H - pad.b)}`;
}

/** A stat: each series' last value, large, with a sparkline of its history. */
function statSvg(p: Dashboard['panels'][number], lines: Line[]): string {
  const shown = lines.slice(0, 3);
  const colW = (W - 20) / Math.max(1, shown.length);
  return shown
    .map((l, i) => {
      const last = l.points[l.points.length - 1]![1];
      const ys = l.points.map(([, v]) => v);
      const top = Math.max(...ys, 1e-9);
      const cx = 10 + i * colW;
      const spark = l.points
        .map(
          ([t, v]) =>
            `${(cx + ((t - start) / (end - start)) * colW).toFixed(1)},${(H - 20 - (v / top) * 60).toFixed(1)}`,
        )
        .join(' ');
      return `<text x="${cx + colW / 2}" y="${H / 2 - 10}" text-anchor="middle" style="font-size:44px;fill:${COLORS[i]}">${esc(fmt(last, p.unit))}</text><text x="${cx + colW / 2}" y="${H / 2 + 14}" text-anchor="middle">${esc(l.name)}</text><polyline fill="none" stroke="${COLORS[i]}" stroke-opacity="0.5" points="${spark}"/>`;
    })
    .join('');
}

async function panelSvg(p: Dashboard['panels'][number]): Promise<string> {
  const lines = await panelLines(p);
  const kind = p.kind ?? 'timeseries';
  const drawing =
    lines.length === 0
      ? `<text x="${W / 2}" y="${H / 2}" text-anchor="middle">no data</text>`
      : kind === 'stat'
        ? statSvg(p, lines)
        : kind === 'state-timeline'
          ? stateSvg(p, lines)
          : timeseriesSvg(p, lines);
  const legend =
    kind === 'timeseries'
      ? lines
          .slice(0, COLORS.length)
          .map((l, i) => `<span><i style="background:${COLORS[i]}"></i>${esc(l.name)}</span>`)
          .join('')
      : '';
  return `<div class="panel"><h3>${esc(p.title)}</h3><svg width="${W}" height="${H}">${drawing}</svg><div class="legend">${legend}</div></div>`;
}

const outDir = path.resolve('grafana/screenshots');
mkdirSync(outDir, { recursive: true });
mkdirSync('.keyguard/screenshot', { recursive: true });
const SOURCES: Record<string, string> = {
  'keyguard-fleet': `a worker processing ${events.length.toLocaleString('en')} simulated events (4 attacked accounts) through Apache Kafka ${services.kafkaVersion} and Redis`,
  'keyguard-detection': `a worker processing ${events.length.toLocaleString('en')} simulated events (4 attacked accounts) through Apache Kafka ${services.kafkaVersion} and Redis`,
  'keyguard-webhooks':
    "the dispatcher delivering that worker's recommendations, and a trickle from elsewhere on the platform until its revocation breaker trips, to a local endpoint that answers 503 to some first attempts",
  'keyguard-ingest':
    'the market feed and the collector polling a local Binance-shaped server (a burst of 500s mid-run)',
};
polling = false;
await ingest;
for (const d of dashboards()) {
  const panels = await Promise.all(d.panels.map(panelSvg));
  const html = `<!doctype html><html><head><meta charset="utf-8"><style>
body{background:#111217;color:#ccccdc;font:13px Inter,Helvetica,Arial,sans-serif;margin:16px}
h1{font-size:18px;font-weight:500;margin:0 0 4px} .sub{color:#8e8e8e;margin-bottom:12px}
.grid{display:grid;grid-template-columns:repeat(2,620px);gap:12px}
.panel{background:#181b1f;border:1px solid #2c3235;border-radius:3px;padding:8px}
h3{font-size:13px;font-weight:500;margin:0 0 6px} svg text{fill:#8e8e8e;font-size:10px}
.legend span{margin-right:12px;white-space:nowrap}.legend i{display:inline-block;width:10px;height:3px;margin-right:4px;vertical-align:middle}
</style></head><body><h1>${esc(d.title)}</h1><div class="sub">real data: ${esc(SOURCES[d.uid] ?? '')}, scraped by Prometheus; the dashboard's own queries (all jobs and instances, $__rate_interval = 10s); times UTC. The four scraped endpoints run in one Node process here, so the process panels draw it four times</div><div class="grid">${panels.join('')}</div></body></html>`;
  const page = path.resolve(`.keyguard/screenshot/${d.uid}.html`);
  writeFileSync(page, html);
  const rows = Math.ceil(d.panels.length / 2);
  const png = path.join(outDir, `${d.uid}.png`);
  const r = spawnSync(
    'chromium',
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--hide-scrollbars',
      `--window-size=1290,${90 + rows * 300}`,
      `--screenshot=${png}`,
      `file://${page}`,
    ],
    { encoding: 'utf8' },
  );
  console.log(r.status === 0 ? `wrote ${png}` : `chromium failed: ${r.stderr.slice(0, 500)}`);
}

await worker.stop();
await campaigns.stop();
await campaignStore.close();
await dispatcher.stop();
await receiver.close();
await publisher.close();
await producer.disconnect();
redis.disconnect();
await exchange.close();
await store.close();
for (const o of [ops, dispatcherOps, feedOps, collectorOps]) await o.close();
await prometheus.stop();
await services.stop();
process.exit(0);
