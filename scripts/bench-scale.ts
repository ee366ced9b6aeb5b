/**
 * `npm run bench:scale`: 1, 2 and 4 worker processes in one consumer group on the same stream
 * (real Kafka, real Redis — or a real Redis Cluster with `--redis-cluster`). Prints, per run:
 * throughput, how long the group took to form, the partitions each member holds, events each
 * processed, Redis round trips and CPU, and the alerts against replay and the one-worker run; then
 * what each process pays for the market topic and what Redis pays per account update. Figures only;
 * it asserts nothing. On a 2-core machine (broker, Redis and the workers sharing it) this shows
 * correctness and the overhead of more members, not a linear speed-up.
 *
 *   npm run bench:scale -- [--accounts N] [--workers 1,2,4] [--partitions 12] [--redis-cluster]
 */
import { parseArgs } from 'node:util';
import { Cluster, Redis } from 'ioredis';
import { AssignerProtocol, Kafka, logLevel } from 'kafkajs';
import { loadDetectionConfig } from '../src/config/detection.js';
import type { RuntimeEnv } from '../src/config/runtime.js';
import { decodeEvent } from '../src/events/decode.js';
import { isMarketEvent } from '../src/events/schema.js';
import { MarketState } from '../src/market/market-state.js';
import { syntheticScenario } from '../src/simulate/synthetic-scenario.js';
import { type AccountState, newAccountState } from '../src/state/account-state.js';
import { accountStateKey } from '../src/state/keys.js';
import { parseRedisTarget } from '../src/state/redis-connection.js';
import { RedisBaselineStore } from '../src/state/redis-store.js';
import { createTopics, produceInOrder, testEnv } from '../test/helpers/kafka.js';
import {
  committedRecords,
  WorkerProcess,
  waitForMembers,
  waitUntilConsumed,
} from '../test/helpers/worker-process.js';
import { alertIdsOf, processedEvents, replayedAlertIds } from '../test/helpers/worker-runs.js';
import { startServices } from '../test/services/harness.js';
import { freePort } from '../test/services/ports.js';
import { startLocalRedisCluster } from '../test/services/redis-cluster.js';

const { values: args } = parseArgs({
  options: {
    accounts: { type: 'string', default: '800' },
    workers: { type: 'string', default: '1,2,4' },
    partitions: { type: 'string', default: '12' },
    'redis-cluster': { type: 'boolean', default: false },
  },
});

const services = await startServices();
const cluster = args['redis-cluster'] ? await startLocalRedisCluster() : undefined;
const redisUrl = cluster?.url ?? services.redisUrl;
const brokers = services.kafkaBrokers;
const kafka = new Kafka({ brokers, clientId: 'bench-scale', logLevel: logLevel.NOTHING });
console.log(
  `services: Apache Kafka ${services.kafkaVersion} (${services.source}), ${cluster ? `Redis Cluster of 3 masters + 3 replicas (WAIT 1)` : 'one Redis'}`,
);

const scenario = syntheticScenario({ seed: 5, days: 2, accounts: Number(args.accounts), victims: 10 });
// Orders and fills: what the group commits on the account topic (key events go to their own topic).
const accountEvents = scenario.events.filter((e) => !isMarketEvent(e) && e.kind !== 'apikey').length;
// Replay's alerts, per account and from campaigns: a worker must publish every per-account one; its
// campaign alerts equal replay's only while its partitions stay within the campaign window of each
// other (a stream produced up front and read partition by partition does not: see the closing line).
const cfg = loadDetectionConfig();
const accountIds = new Set(
  await replayedAlertIds(scenario.events, { ...cfg, campaign: { ...cfg.campaign, enabled: false } }),
);
const campaignIds = new Set(
  (await replayedAlertIds(scenario.events, cfg)).filter((id) => !accountIds.has(id)),
);
console.log(
  `stream: ${scenario.events.length} events (${accountEvents} account events, the rest market), ${args.partitions} partitions`,
);

/** Each member's partitions of the account topic, from the group description. */
async function assignment(env: RuntimeEnv): Promise<number[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([env.KEYGUARD_GROUP_ID]);
    return (groups[0]?.members ?? []).map((m) => {
      const decoded = AssignerProtocol.MemberAssignment.decode(m.memberAssignment);
      return decoded?.assignment[env.KEYGUARD_TOPIC_ORDERS]?.length ?? 0;
    });
  } finally {
    await admin.disconnect();
  }
}

/** CPU seconds (user + sys) the Redis servers have used so far: every master of a cluster. */
async function redisCpuSeconds(): Promise<number> {
  const target = parseRedisTarget(redisUrl);
  const redis = target.cluster ? new Cluster(target.nodes) : new Redis(redisUrl);
  try {
    if (redis instanceof Cluster) await redis.ping(); // the node list arrives with the connection
    const servers = redis instanceof Cluster ? redis.nodes('master') : [redis];
    let total = 0;
    for (const server of servers) {
      const info = await server.info('cpu');
      for (const key of ['used_cpu_sys', 'used_cpu_user'])
        total += Number(new RegExp(`^${key}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
    }
    return total;
  } finally {
    redis.disconnect();
  }
}

/** Sum of a counter or histogram count over every series in a worker's /metrics. */
async function metricSum(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(name))
    .reduce((s, l) => s + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

interface Row {
  workers: number;
  seconds: number;
  afterFormed: number;
  formedMs: number;
  partitions: number[];
  events: number[];
  roundTrips: number;
  ids: string[];
}

const rows: Row[] = [];
for (const n of args.workers.split(',').map(Number)) {
  const env = testEnv(brokers, redisUrl, {
    KEYGUARD_INPUT_PARTITIONS: args.partitions,
    KEYGUARD_SESSION_TIMEOUT_MS: '10000',
    LOG_LEVEL: 'info',
    ...(cluster ? { KEYGUARD_REDIS_WAIT_REPLICAS: '1' } : {}),
  });
  await createTopics(kafka, env);
  await produceInOrder(kafka, env, scenario.events);
  const ports: number[] = [];
  for (let i = 0; i < n; i++) ports.push(await freePort());
  const redisCpuBefore = await redisCpuSeconds();
  const started = Date.now();
  const workers = ports.map((port) => {
    const w = new WorkerProcess(env, 'worker', { KEYGUARD_METRICS_PORT: String(port) });
    w.start();
    return w;
  });
  await waitForMembers(kafka, env.KEYGUARD_GROUP_ID, n);
  const formedMs = Date.now() - started;
  const partitions = await assignment(env);
  while ((await committedRecords(kafka, env)) < accountEvents) await new Promise((r) => setTimeout(r, 50));
  const seconds = (Date.now() - started) / 1000;
  // The campaign aggregator trails the account topics: its alerts are out once it has caught up.
  await waitUntilConsumed(kafka, env, 120_000, { campaigns: true });
  const afterFormed = seconds - formedMs / 1000;
  let roundTrips = 0;
  for (const port of ports) roundTrips += await metricSum(port, 'keyguard_redis_round_trip_seconds_count');
  const redisCpu = (await redisCpuSeconds()) - redisCpuBefore;
  for (const w of workers) await w.stop();
  const ids = await alertIdsOf(env);
  rows.push({
    workers: n,
    seconds,
    afterFormed,
    formedMs,
    partitions,
    events: workers.map(processedEvents),
    roundTrips,
    ids,
  });
  const row = rows.at(-1)!;
  console.log(
    `${n} worker${n > 1 ? 's' : ' '}: ${Math.round(accountEvents / seconds)} account events/s ` +
      `(${seconds.toFixed(1)} s from launch, processes starting included; ${Math.round(accountEvents / afterFormed)}/s over the ${afterFormed.toFixed(1)} s after the group formed); ` +
      `group of ${n} formed ${(formedMs / 1000).toFixed(1)} s after launch; ` +
      `partitions per member ${partitions.join('/')}; events per member ${row.events.join('/')}; ` +
      `Redis round trips ${roundTrips} (${((roundTrips / accountEvents) * 1000).toFixed(1)} per 1,000 events), ` +
      `Redis CPU ${redisCpu.toFixed(1)} s (${((redisCpu / accountEvents) * 1e6).toFixed(1)} µs per event); ` +
      `alerts: per account ${ids.filter((id) => accountIds.has(id)).length} of replay's ${accountIds.size}, ` +
      `campaign ${ids.filter((id) => campaignIds.has(id)).length} of replay's ${campaignIds.size}, ` +
      `${ids.filter((id) => !accountIds.has(id) && !campaignIds.has(id)).length} not in replay; ` +
      `${rows.length > 1 ? (ids.join() === rows[0]!.ids.join() ? 'the same ids as 1 worker' : 'NOT the ids of 1 worker') : ''}`,
  );
}

// What every worker pays for reading the whole market topic: decode, validate and fold each print.
{
  const prints = scenario.events.filter(isMarketEvent).map((e) => JSON.stringify(e));
  const market = new MarketState(cfg);
  const t0 = performance.now();
  for (let round = 0; round < 5; round++)
    for (const text of prints) {
      const decoded = decodeEvent(text);
      if (decoded.ok && isMarketEvent(decoded.event)) market.apply(decoded.event);
    }
  const seconds = (performance.now() - t0) / 1000;
  console.log(
    `market: one process decodes, validates and folds ${Math.round((5 * prints.length) / seconds)} prints/s on one core (${prints.length} prints × 5, in process, Kafka fetch not included); every worker process pays this for the whole market topic`,
  );
}

// What Redis pays per account update in live traffic (small batches of distinct accounts): one
// load and one save of a ~1.1 KB state each, Redis CPU from INFO, memory per account.
{
  const n = 50_000;
  const batch = 100;
  const prefix = `bench-${Date.now()}:`;
  const store = new RedisBaselineStore({ url: redisUrl, keyPrefix: prefix, ttlSeconds: 3600 });
  const state = { ...newAccountState(0), pad: 'x'.repeat(900) } as AccountState;
  const cpuBefore = await redisCpuSeconds();
  const t0 = performance.now();
  for (let position = 1; position <= 2; position++)
    for (let i = 0; i < n; i += batch) {
      const refs = Array.from({ length: batch }, (_, j) => ({ exchange: 'bench', accountId: `a${i + j}` }));
      await store.loadAccounts(refs);
      await store.saveAccounts(refs.map((ref) => ({ ...ref, positions: { p: position }, state })));
    }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = (await redisCpuSeconds()) - cpuBefore;
  const sample = await Promise.all(
    Array.from({ length: 200 }, (_, i) =>
      store.redis.memory('USAGE', accountStateKey(prefix, { exchange: 'bench', accountId: `a${i}` })),
    ),
  );
  const bytes = sample.reduce((sum: number, b) => sum + Number(b), 0) / sample.length;
  await store.close();
  console.log(
    `Redis per account update (load + save of a ${JSON.stringify(state).length}-byte state, batches of ${batch} distinct accounts): ` +
      `${((cpu / (2 * n)) * 1e6).toFixed(1)} µs of Redis CPU (${Math.round((2 * n) / cpu)} updates/s per Redis core), ` +
      `${Math.round((2 * n) / seconds)} updates/s from one client; MEMORY USAGE ${Math.round(bytes)} B per account`,
  );
}

await cluster?.stop();
await services.stop();
