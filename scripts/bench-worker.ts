/**
 * `npm run bench`: the streaming worker on a real Kafka broker and Redis (started for the run).
 * Prints, in one run: bare kafkajs consumption rate of the account topic (the ceiling for this
 * stack), the worker's throughput, Redis round trips per 1,000 events, and at half and a quarter
 * of that throughput (each against a worker process of its own) the latency from produce to alert
 * and from produce to processed for every account record, where each step of a batch spends its
 * time, and the CPU each process of the machine used. Figures only; it asserts nothing.
 *
 *   npm run bench -- [--accounts N] [--latency-seconds N] [--load 0.5,0.25] [--partitions 6]
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { Kafka, logLevel, type Message } from 'kafkajs';
import { loadDetectionConfig } from '../src/config/detection.js';
import type { RuntimeEnv } from '../src/config/runtime.js';
import { decodeEvent, eventId } from '../src/events/decode.js';
import type { Alert, InputEvent } from '../src/events/schema.js';
import { isMarketEvent } from '../src/events/schema.js';
import { createLogger } from '../src/logger.js';
import { tuneHeapForStreaming } from '../src/main.js';
import { syntheticScenario } from '../src/simulate/synthetic-scenario.js';
import { RedisBaselineStore } from '../src/state/redis-store.js';
import { Worker, type WorkerStats } from '../src/worker/worker.js';
import { testEnv } from '../test/helpers/kafka.js';
import { committedRecords, WorkerProcess, waitForMembers } from '../test/helpers/worker-process.js';
import { startServices } from '../test/services/harness.js';

tuneHeapForStreaming();
const { values: args } = parseArgs({
  options: {
    accounts: { type: 'string', default: '400' },
    'latency-seconds': { type: 'string', default: '15' },
    load: { type: 'string', default: '0.5,0.25' },
    partitions: { type: 'string', default: '6' },
  },
});

type Bucket = { le: number; n: number };

/** The histogram of produce → processed for every account record (the worker's metric). */
const PROCESSED = 'keyguard_kafka_append_to_processed_seconds';
/** The start of a latency phase, reported apart: JIT warm-up and every account's first load. */
const WARM_UP_MS = 3000;

const services = await startServices();
const brokers = services.kafkaBrokers;
const kafka = new Kafka({ brokers, clientId: 'bench', logLevel: logLevel.NOTHING });
const cfg = loadDetectionConfig();
const log = createLogger('error');
console.log(
  `services: Apache Kafka ${services.kafkaVersion}, Redis ${services.redisUrl} (${services.source})`,
);

function envFor(tag: string): RuntimeEnv {
  return testEnv(brokers, services.redisUrl, {
    KEYGUARD_INPUT_PARTITIONS: args.partitions,
    KEYGUARD_SESSION_TIMEOUT_MS: '30000',
    LOG_LEVEL: tag === 'latency' ? 'info' : 'error',
    ...(process.env.BENCH_MARKET_WAIT_MS
      ? { KEYGUARD_MARKET_WAIT_MS: process.env.BENCH_MARKET_WAIT_MS }
      : {}),
  });
}

function toMessage(env: RuntimeEnv, e: InputEvent): { topic: string; message: Message } {
  const value = JSON.stringify(e);
  if (isMarketEvent(e)) return { topic: env.KEYGUARD_TOPIC_MARKET, message: { key: e.symbol, value } };
  const key = 'accountId' in e ? e.accountId : '';
  return { topic: env.KEYGUARD_TOPIC_ORDERS, message: { key, value } };
}

async function produceAll(env: RuntimeEnv, events: readonly InputEvent[]): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  for (let i = 0; i < events.length; i += 5000) {
    const byTopic = new Map<string, Message[]>();
    for (const e of events.slice(i, i + 5000)) {
      const { topic, message } = toMessage(env, e);
      const messages = byTopic.get(topic);
      if (messages) messages.push(message);
      else byTopic.set(topic, [message]);
    }
    await producer.sendBatch({
      topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
    });
  }
  await producer.disconnect();
}

async function startWorker(env: RuntimeEnv) {
  const store = new RedisBaselineStore({
    url: services.redisUrl,
    keyPrefix: env.KEYGUARD_REDIS_PREFIX,
    ttlSeconds: 3600,
  });
  const worker = new Worker({ kafka, env, cfg, store, log });
  await worker.ensureTopics();
  return { worker, store };
}

/** Where a batch's time goes: mean and slowest ms of each step, in the order a batch takes them. */
function stepsLine(steps: WorkerStats['steps']): string {
  return Object.entries(steps)
    .map(([step, s]) => `${step} ${(s.totalMs / s.count).toFixed(1)} ms (max ${s.maxMs})`)
    .join(', ');
}

const pct = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

// 1. One stream, produced up front.
const scenario = syntheticScenario({ seed: 5, days: 3, accounts: Number(args.accounts), victims: 10 });
const accountEvents = scenario.events.filter((e) => !isMarketEvent(e)).length;
const env = envFor('throughput');
const { worker, store } = await startWorker(env);
await produceAll(env, scenario.events);
console.log(
  `stream: ${scenario.events.length} events (${accountEvents} on the account topic, the rest market)`,
);

// 2. Bare kafkajs consumption of the account topic: the ceiling. Then the same with every record
// decoded and validated as the worker does (JSON.parse and the compiled contract check): the
// floor of any consumer of the contract, before detection, state and publishing.
async function bareRate(decode: boolean): Promise<number> {
  const consumer = kafka.consumer({ groupId: `bare-${randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topic: env.KEYGUARD_TOPIC_ORDERS, fromBeginning: true });
  let n = 0;
  let invalid = 0;
  let started = 0;
  await new Promise<void>((resolve) => {
    consumer.run({
      eachBatch: async ({ batch }) => {
        if (started === 0) started = performance.now();
        n += batch.messages.length;
        if (decode)
          for (const m of batch.messages) if (!decodeEvent(m.value?.toString('utf8') ?? '').ok) invalid++;
        if (n >= accountEvents) resolve();
      },
    });
  });
  const seconds = (performance.now() - started) / 1000;
  await consumer.disconnect();
  if (invalid > 0) throw new Error(`${invalid} records did not decode`);
  return Math.round(n / seconds);
}
const bare = await bareRate(false);
console.log(`bare kafkajs consumer: ${bare} events/s`);
const decoded = await bareRate(true);
console.log(
  `kafkajs consumer decoding and validating every record: ${decoded} events/s (${Math.round((decoded / bare) * 100)} % of bare)`,
);

// 3. The worker over the same topic (market feed included; one Redis read + write per unit of work,
// a unit being the batches of one fetch).
{
  await worker.start();
  while ((await committedRecords(kafka, env)) < accountEvents) await new Promise((r) => setTimeout(r, 20));
  const seconds = (Date.now() - worker.stats.firstBatchAt!) / 1000;
  const rate = Math.round(accountEvents / seconds);
  const totalRate = Math.round(scenario.events.length / seconds);
  console.log(
    `worker: ${rate} account events/s (${accountEvents} events in ${seconds.toFixed(2)} s, plus ${scenario.events.length - accountEvents} market events); ${worker.stats.alerts} alerts; ${Math.round((rate / bare) * 100)} % of bare, ${Math.round((rate / decoded) * 100)} % of decoding`,
  );
  console.log(
    `Redis: ${store.roundTrips} round trips for ${worker.stats.events} account events = ${((store.roundTrips / worker.stats.events) * 1000).toFixed(2)} per 1,000 events (${worker.stats.batches} units of work, up to ${worker.stats.maxUnitPartitions} partitions each)`,
  );
  console.log(`  per unit: ${stepsLine(worker.stats.steps)}`);
  await worker.stop();
  await store.close();
  process.env.BENCH_RATE = String(totalRate);
}

// 4. End-to-end latency at fractions of that rate (all messages, market included): produce → alert
// published, and produce → processed for every account record (the worker's histogram).
for (const load of args.load.split(',').map(Number)) await latencyPhase(load);

/** The stream's tail at `load` × the worker's rate, against a worker process of its own. */
async function latencyPhase(load: number): Promise<void> {
  const rate = Math.max(100, Math.round(Number(process.env.BENCH_RATE) * load));
  const lat = { ...envFor('latency'), KEYGUARD_METRICS_PORT: 0 };
  // The worker runs as its own process here, so the load generator does not share its core.
  await (await startWorker(lat)).store.close();
  const live = new WorkerProcess(lat);
  live.start();
  await waitForMembers(kafka, lat.KEYGUARD_GROUP_ID);
  const port = /"port":(\d+)[^\n]*serving \/metrics/.exec(live.output)?.[1];
  const processed = async () =>
    port === undefined
      ? []
      : buckets(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(), PROCESSED);
  const full = syntheticScenario({ seed: 6, days: 3, accounts: Number(args.accounts), victims: 40 }).events;
  const seconds = Math.min(Number(args['latency-seconds']), full.length / rate);
  // The stream's tail (the pump and the attacks are at its end): what fits in the phase at this
  // rate, serialized before the clock starts so the load generator spends its core on sending.
  const stream = full
    .slice(Math.max(0, full.length - Math.floor(seconds * rate)))
    .map((e) => ({ ...toMessage(lat, e), id: isMarketEvent(e) ? undefined : eventId(e) }));
  const sentAt = new Map<string, number>();
  const producer = kafka.producer();
  await producer.connect();
  const consumer = kafka.consumer({ groupId: `lat-${randomUUID()}`, maxWaitTimeInMs: 10 });
  await consumer.connect();
  await consumer.subscribe({ topic: lat.KEYGUARD_TOPIC_ALERTS, fromBeginning: true });
  const received: Array<{ alert: Alert; at: number }> = [];
  await consumer.run({
    eachMessage: async ({ message }) => {
      received.push({ alert: JSON.parse(message.value!.toString()), at: Number(message.timestamp) });
    },
  });
  const cpu = cpuMeter(live.pid);
  const t0 = Date.now();
  let i = 0;
  let warm: Bucket[] | undefined;
  while (Date.now() - t0 < seconds * 1000 && i < stream.length) {
    if (!warm && Date.now() - t0 >= WARM_UP_MS) warm = await processed();
    const due = Math.min(stream.length, Math.floor(((Date.now() - t0) / 1000) * rate), i + 2000);
    const byTopic = new Map<string, Message[]>();
    const now = Date.now();
    for (; i < due; i++) {
      const { topic, message, id } = stream[i]!;
      const messages = byTopic.get(topic);
      if (messages) messages.push(message);
      else byTopic.set(topic, [message]);
      if (id !== undefined) sentAt.set(id, now);
    }
    if (byTopic.size > 0) {
      await producer.sendBatch({
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  const shares = cpu.shares();
  await new Promise((r) => setTimeout(r, 3000));
  const latencies = received
    .map((r) => r.at - (sentAt.get(r.alert.eventIds.at(-1)!) ?? Number.NaN))
    .filter((x) => Number.isFinite(x))
    .sort((a, b) => a - b);
  console.log(
    `latency at ${rate} events/s (${load} × the worker's rate, market included) for ${seconds.toFixed(1)} s (${i} events): produce → alert published p50 ${pct(latencies, 0.5)} ms, p99 ${pct(latencies, 0.99)} ms, max ${latencies.at(-1)} ms over ${latencies.length} alerts`,
  );
  const all = await processed();
  if (all.length > 0) {
    const ms = (b: Bucket[], q: number) => Math.round(quantile(b, q) * 1000);
    const after = warm ? minus(all, warm) : all;
    console.log(
      `  every account record, produce → processed (alerts acked, offsets committed): p50 ${ms(all, 0.5)} ms, p99 ${ms(all, 0.99)} ms; after the first ${WARM_UP_MS / 1000} s (a worker that has met its accounts): p50 ${ms(after, 0.5)} ms, p99 ${ms(after, 0.99)} ms (interpolated in the histogram's buckets)`,
    );
  }
  console.log(`  CPU during the phase, in cores of this ${os.cpus().length}-core machine: ${shares}`);
  await consumer.disconnect();
  await producer.disconnect();
  await live.stop();
  const stopped = live.output.split('\n').find((l) => l.includes('"msg":"stopped"'));
  if (stopped) {
    const st = JSON.parse(stopped).stats;
    console.log(
      `  worker units of work: ${st.batches} (up to ${st.maxUnitPartitions} partitions each), mean ${(st.batchMsTotal / st.batches).toFixed(1)} ms, slowest ${st.maxBatchMs} ms, largest ${st.maxBatchEvents} events`,
    );
    console.log(`  per unit: ${stepsLine(st.steps)}`);
  }
}

/** The cumulative buckets of a Prometheus histogram without labels. */
function buckets(text: string, name: string): Bucket[] {
  return [...text.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\S+)$`, 'gm'))].map((m) => ({
    le: m[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(m[1]),
    n: Number(m[2]),
  }));
}

/** What was observed between two readings of the same histogram. */
function minus(later: Bucket[], earlier: Bucket[]): Bucket[] {
  return later.map((b, i) => ({ le: b.le, n: b.n - (earlier[i]?.n ?? 0) }));
}

/** The q-quantile in seconds, interpolated linearly within its bucket as PromQL's histogram_quantile does. */
function quantile(cumulative: Bucket[], q: number): number {
  const rank = q * (cumulative.at(-1)?.n ?? 0);
  let below = { le: 0, n: 0 };
  for (const b of cumulative) {
    if (b.n >= rank) {
      if (!Number.isFinite(b.le)) return below.le;
      return below.le + ((b.le - below.le) * (rank - below.n)) / Math.max(1, b.n - below.n);
    }
    below = b;
  }
  return Number.NaN;
}

/** CPU seconds (user + system) of a process, from /proc (Linux). */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return 0;
  }
}

/** This process's children (the broker, Redis, the worker) by role, from /proc. */
function childrenByRole(): Map<string, number[]> {
  const roles = new Map<string, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== process.pid) continue;
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      const role = cmd.includes('kafka.Kafka')
        ? 'Kafka broker'
        : cmd.includes('redis-server')
          ? 'Redis'
          : cmd.includes('keyguard')
            ? 'worker'
            : undefined;
      if (role) roles.set(role, [...(roles.get(role) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  return roles;
}

/** Busy CPU seconds of the whole machine, from /proc/stat. */
function machineBusySeconds(): number {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).map(Number);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  return (ticks.reduce((a, b) => a + b, 0) - idle) / 100;
}

/** CPU used by each process of the run between now and `shares()`, in cores. */
function cpuMeter(workerPid: number | undefined) {
  const roles = childrenByRole();
  if (workerPid !== undefined) roles.set('worker', [workerPid]);
  const sum = (pids: number[]) => pids.reduce((a, p) => a + cpuSeconds(p), 0);
  const start = { at: performance.now(), self: process.cpuUsage(), machine: machineBusySeconds() };
  const before = new Map([...roles].map(([role, pids]) => [role, sum(pids)]));
  return {
    shares(): string {
      const seconds = (performance.now() - start.at) / 1000;
      const self = process.cpuUsage(start.self);
      const parts = [...roles].map(
        ([role, pids]) => `${role} ${((sum(pids) - before.get(role)!) / seconds).toFixed(2)}`,
      );
      parts.push(`load generator and alert reader ${((self.user + self.system) / 1e6 / seconds).toFixed(2)}`);
      parts.push(`whole machine ${((machineBusySeconds() - start.machine) / seconds).toFixed(2)}`);
      return parts.join(', ');
    },
  };
}
await services.stop();
process.exit(0);
