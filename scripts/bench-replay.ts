/**
 * `npm run bench:replay`: replay speed on the embedded store over a one-million-event stream, and
 * the Redis cost of baselines (bytes per active account, round trips per 1,000 events) against a
 * real redis-server started for the run. Prints figures; asserts nothing.
 *
 *   npm run bench:replay -- [--events N] [--campaigns] [--skip-redis]
 *
 * `--campaigns`: the embedded runs fold the campaign aggregator in too (as `keyguard replay` does
 * when campaigns are enabled).
 */
import { createReadStream, createWriteStream, mkdtempSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { CampaignEngine } from '../src/campaign/campaign-engine.js';
import { MemoryCampaignStore } from '../src/campaign/campaign-store.js';
import { writeEvents } from '../src/cli/simulate-command.js';
import { loadDetectionConfig } from '../src/config/detection.js';
import { DetectionEngine } from '../src/detection/engine.js';
import { tuneHeapForStreaming } from '../src/main.js';
import { MarketState } from '../src/market/market-state.js';
import { jsonlAlertWriter, replay } from '../src/replay/replay.js';
import { syntheticScenario } from '../src/simulate/synthetic-scenario.js';
import { MemoryBaselineStore } from '../src/state/memory-store.js';
import { RedisBaselineStore } from '../src/state/redis-store.js';
import { parseStateRecord } from '../src/state/state-records.js';
import { startLocalRedis } from '../test/services/redis.js';

tuneHeapForStreaming();

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    'skip-redis': { type: 'boolean', default: false },
    campaigns: { type: 'boolean', default: false },
  },
});
const target = Number(args.events);
const cfg = loadDetectionConfig();

const scenario = syntheticScenario({ seed: 99, days: 7, accounts: Math.ceil(target / 900), victims: 3 });
const events = scenario.events.slice(0, target);
const dir = mkdtempSync(path.join(os.tmpdir(), 'keyguard-bench-'));
const file = path.join(dir, 'events.jsonl');
const out = createWriteStream(file);
await writeEvents({ ...scenario, events }, out);
await new Promise<void>((r) => out.end(r));
console.log(
  `stream: ${events.length} events, ${(statSync(file).size / 1e6).toFixed(1)} MB JSONL, ${Object.keys(scenario.truth).length} accounts`,
);

const sink = new Writable({ write: (_c, _e, cb) => cb() });
for (const run of [1, 2]) {
  const engine = new DetectionEngine(
    cfg,
    new MemoryBaselineStore(cfg.state.ttlSeconds * 1000),
    new MarketState(cfg),
  );
  const summary = await replay([{ name: file, stream: createReadStream(file) }], engine, {
    batchSize: 2000,
    reorderMs: 60_000,
    onAlert: jsonlAlertWriter(sink),
    onRejected: () => {},
    maxFutureSkewMs: cfg.events.maxFutureSkewMs,
    ...(args.campaigns ? { campaigns: new CampaignEngine(cfg.campaign, new MemoryCampaignStore()) } : {}),
  });
  console.log(
    `replay (embedded store${args.campaigns ? ', campaigns on' : ''}, run ${run}): ${summary.events} events in ${summary.seconds.toFixed(2)} s = ${summary.eventsPerSecond} events/s, ${summary.alerts} alerts`,
  );
}

if (!args['skip-redis']) {
  const redis = await startLocalRedis();
  const store = new RedisBaselineStore({
    url: redis.url,
    keyPrefix: 'bench:',
    ttlSeconds: cfg.state.ttlSeconds,
  });
  const engine = new DetectionEngine(cfg, store, new MarketState(cfg));
  const summary = await replay([{ name: file, stream: createReadStream(file) }], engine, {
    batchSize: 2000,
    reorderMs: 60_000,
    onAlert: jsonlAlertWriter(sink),
    onRejected: () => {},
    maxFutureSkewMs: cfg.events.maxFutureSkewMs,
  });
  const keys = await store.redis.keys('bench:acct:*');
  const sizes: number[] = [];
  for (const key of keys) sizes.push(Number(await store.redis.memory('USAGE', key)));
  sizes.sort((a, b) => a - b);
  const mean = sizes.reduce((s, x) => s + x, 0) / sizes.length;
  const p = (q: number) => sizes[Math.min(sizes.length - 1, Math.floor(q * sizes.length))];
  const accountEvents = summary.eventsByKind.order + summary.eventsByKind.fill;
  console.log(
    `replay (Redis store): ${summary.eventsPerSecond} events/s; ${store.roundTrips} round trips = ${((store.roundTrips / summary.events) * 1000).toFixed(2)} per 1,000 events`,
  );
  console.log(
    `Redis bytes per active account (MEMORY USAGE, ${sizes.length} accounts, ${accountEvents} account events): mean ${Math.round(mean)}, p50 ${p(0.5)}, p99 ${p(0.99)}, max ${sizes[sizes.length - 1]}`,
  );
  // Where a stored state's bytes go: mean bytes per top-level field of the stored JSON (its key,
  // quotes and separators included), and the positions header.
  const fields = new Map<string, number>();
  let header = 0;
  for (const key of keys) {
    const record = (await store.redis.get(key))!;
    const { json } = parseStateRecord(record);
    header += record.length - json.length;
    for (const [field, value] of Object.entries(JSON.parse(json) as Record<string, unknown>))
      fields.set(field, (fields.get(field) ?? 0) + field.length + 4 + JSON.stringify(value).length);
  }
  const perAccount = (n: number) => Math.round(n / keys.length);
  console.log(
    `  stored JSON per account by field (mean bytes): ${[...fields]
      .sort((a, b) => b[1] - a[1])
      .map(([f, n]) => `${f} ${perAccount(n)}`)
      .join(', ')}; positions header ${perAccount(header)}`,
  );
  await store.close();
  await redis.stop();
}
