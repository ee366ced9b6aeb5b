/**
 * `npm run screenshot`: renders the fleet and detection dashboards from real data — a worker on a
 * real Kafka and Redis processing a simulated stream with attacks, scraped by a real Prometheus —
 * into grafana/screenshots/*.png with headless Chromium (Debian package `chromium`). The page
 * draws each panel's PromQL (the same queries as the Grafana dashboards) from Prometheus'
 * query_range answers, so it shows what Grafana would.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createLogger } from '../src/logger.js';
import { type Dashboard, dashboards } from '../src/observability/dashboards.js';
import { startOpsServer } from '../src/observability/http-server.js';
import { WorkerMetrics } from '../src/observability/metrics.js';
import { syntheticScenario } from '../src/simulate/synthetic-scenario.js';
import { RedisBaselineStore } from '../src/state/redis-store.js';
import { Worker } from '../src/worker/worker.js';
import { fastForwardConfig } from '../test/helpers/fast-forward.js';
import { createTopics, kafkaClient, produceInOrder, testEnv } from '../test/helpers/kafka.js';
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
const ops = await startOpsServer(0, metrics.registry, () => worker.readiness());
const prometheus = await startPrometheus([`127.0.0.1:${ops.port}`]);
await worker.start();

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
const fmt = (v: number, unit: string) =>
  unit === 's'
    ? v < 1
      ? `${(v * 1000).toPrecision(3)} ms`
      : `${v.toPrecision(3)} s`
    : Math.abs(v) >= 1000
      ? `${(v / 1000).toPrecision(3)}k`
      : v.toPrecision(3);

async function panelSvg(p: Dashboard['panels'][number]): Promise<string> {
  const W = 600;
  const H = 230;
  const pad = { l: 60, r: 10, t: 10, b: 24 };
  const lines: Array<{ name: string; points: Array<[number, number]> }> = [];
  for (const t of p.targets) {
    for (const s of await range(t.expr)) {
      const points = s.values
        .map(([x, y]) => [x, Number(y)] as [number, number])
        .filter(([, y]) => Number.isFinite(y));
      if (points.length > 0) lines.push({ name: legendOf(t.legend, s.metric), points });
    }
  }
  const ys = lines.flatMap((l) => l.points.map(([, y]) => y));
  const top = Math.max(0, ...ys);
  const ymax = top > 0 ? top * 1.1 : 1;
  const x = (t: number) => pad.l + ((t - start) / (end - start)) * (W - pad.l - pad.r);
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
        `<polyline fill="none" stroke="${COLORS[i]}" stroke-width="1.6" points="${l.points.map(([a, b]) => `${x(a).toFixed(1)},${y(b).toFixed(1)}`).join(' ')}"/>`,
    )
    .join('');
  const legend = lines
    .slice(0, COLORS.length)
    .map((l, i) => `<span><i style="background:${COLORS[i]}"></i>${esc(l.name)}</span>`)
    .join('');
  const empty =
    lines.length === 0 ? `<text x="${W / 2}" y="${H / 2}" text-anchor="middle">no data</text>` : '';
  return `<div class="panel"><h3>${esc(p.title)}</h3><svg width="${W}" height="${H}">${grid}${paths}${empty}</svg><div class="legend">${legend}</div></div>`;
}

const outDir = path.resolve('grafana/screenshots');
mkdirSync(outDir, { recursive: true });
mkdirSync('.keyguard/screenshot', { recursive: true });
for (const d of dashboards().filter((x) => x.uid === 'keyguard-fleet' || x.uid === 'keyguard-detection')) {
  const panels = await Promise.all(d.panels.map(panelSvg));
  const html = `<!doctype html><html><head><meta charset="utf-8"><style>
body{background:#111217;color:#ccccdc;font:13px Inter,Helvetica,Arial,sans-serif;margin:16px}
h1{font-size:18px;font-weight:500;margin:0 0 4px} .sub{color:#8e8e8e;margin-bottom:12px}
.grid{display:grid;grid-template-columns:repeat(2,620px);gap:12px}
.panel{background:#181b1f;border:1px solid #2c3235;border-radius:3px;padding:8px}
h3{font-size:13px;font-weight:500;margin:0 0 6px} svg text{fill:#8e8e8e;font-size:10px}
.legend span{margin-right:12px;white-space:nowrap}.legend i{display:inline-block;width:10px;height:3px;margin-right:4px;vertical-align:middle}
</style></head><body><h1>${esc(d.title)}</h1><div class="sub">real data: a worker processing ${events.length.toLocaleString('en')} simulated events (4 attacked accounts) through Apache Kafka ${services.kafkaVersion} and Redis, scraped by Prometheus; the dashboard's own queries</div><div class="grid">${panels.join('')}</div></body></html>`;
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
await store.close();
await ops.close();
await prometheus.stop();
await services.stop();
process.exit(0);
