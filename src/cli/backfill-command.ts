/**
 * `keyguard backfill`: warm the baselines from history. Past contract events (JSONL) are folded into
 * the Redis store the workers read, with no scoring and no alerts, so a new deployment — or one
 * whose Redis lost its data — judges accounts against their real past from the first minute.
 */
import { createReadStream, existsSync } from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import type { Kafka } from 'kafkajs';
import { readConfigVersions } from '../config/config-versions.js';
import type { DetectionConfig } from '../config/detection.js';
import type { RuntimeEnv } from '../config/runtime.js';
import { DetectionEngine, type SequencedEvent } from '../detection/engine.js';
import { UsageError } from '../errors.js';
import { decodeEvent, type EventClock } from '../events/decode.js';
import { kafkaConnection } from '../kafka/connection.js';
import { readTopicsSince } from '../kafka/topic-history.js';
import type { Logger } from '../logger.js';
import { MarketState } from '../market/market-state.js';
import { replay } from '../replay/replay.js';
import { timeOption, wholeNumber } from './options.js';
import { openStore } from './stores.js';

/** Progress lines at most this often (events). */
const PROGRESS_EVERY = 100_000;

export async function backfillCommand(
  argv: string[],
  env: RuntimeEnv,
  loadConfig: (file?: string) => DetectionConfig,
  log: Logger,
  stderr: Writable,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      redis: { type: 'string' },
      'redis-prefix': { type: 'string' },
      name: { type: 'string' },
      since: { type: 'string' },
      kafka: { type: 'string' },
      config: { type: 'string' },
      'config-versions': { type: 'string' },
      batch: { type: 'string' },
      'reorder-ms': { type: 'string' },
    },
  });
  const redisUrl = values.redis ?? env.REDIS_URL;
  if (!redisUrl) throw new UsageError('backfill needs --redis URL or REDIS_URL (the store the workers read)');
  if (positionals.length > 0 === (values.since !== undefined))
    throw new UsageError('backfill reads either JSONL files or the topics (--since TIME), one of them');
  for (const file of positionals) if (!existsSync(file)) throw new UsageError(`no such file: ${file}`);
  const since = values.since !== undefined ? timeOption('since', values.since) : undefined;
  const brokers = values.kafka ?? env.KAFKA_BROKERS;
  if (since !== undefined && !brokers)
    throw new UsageError('backfill --since needs KAFKA_BROKERS or --kafka HOSTS');
  const cfg = loadConfig(values.config);
  const versionsFile = values['config-versions'];
  const versions = versionsFile ? readConfigVersions(versionsFile, cfg) : undefined;
  const store = openStore(cfg, redisUrl, values['redis-prefix'] ?? env.KEYGUARD_REDIS_PREFIX, (err) =>
    log.warn({ err: err.message, module: 'redis' }, 'redis connection error'),
  );
  const engine = new DetectionEngine(cfg, store, new MarketState(cfg), {
    baselinesOnly: true,
    ...(versions ? { versions } : {}),
  });
  try {
    if (since !== undefined) {
      const topics = [env.KEYGUARD_TOPIC_ORDERS, env.KEYGUARD_TOPIC_FILLS, env.KEYGUARD_TOPIC_APIKEYS];
      return await fromTopics(kafkaConnection(brokers!, env, log), topics, since, engine, cfg, stderr);
    }
    const name = values.name ?? positionals.map((f) => path.basename(f)).join('+');
    return await fromFiles(positionals, name, engine, cfg, values, stderr);
  } finally {
    await store.close();
  }
}

function progressLine(stderr: Writable, name: string) {
  const started = Date.now();
  const totals = { events: 0, accounts: 0, skipped: 0, rejected: 0 };
  let next = PROGRESS_EVERY;
  const print = () =>
    stderr.write(
      `backfill ${name}: ${totals.events} events, ${totals.accounts} account updates, ${totals.skipped} already stored, ${Math.round(totals.events / Math.max(0.001, (Date.now() - started) / 1000))} events/s\n`,
    );
  return {
    totals,
    maybe: () => {
      if (totals.events < next) return;
      next = totals.events + PROGRESS_EVERY;
      print();
    },
    done: () => {
      print();
      stderr.write(`backfill ${name}: done, ${totals.rejected} rejected\n`);
    },
  };
}

/** The account topics from `since` to their ends at the start, each record under its worker source name. */
async function fromTopics(
  kafka: Kafka,
  topics: string[],
  since: number,
  engine: DetectionEngine,
  cfg: DetectionConfig,
  stderr: Writable,
): Promise<number> {
  const progress = progressLine(stderr, `since ${new Date(since).toISOString()}`);
  const clock: EventClock = { now: Date.now(), maxFutureSkewMs: cfg.events.maxFutureSkewMs };
  await readTopicsSince(kafka, topics, since, async (records) => {
    clock.now = Date.now();
    const batch: SequencedEvent[] = [];
    for (const r of records) {
      const decoded = decodeEvent(r.value, clock);
      if (!decoded.ok) {
        progress.totals.rejected++;
        stderr.write(`${r.topic}/${r.partition}@${r.offset}: ${decoded.code}: ${decoded.reason}\n`);
        continue;
      }
      batch.push({ seq: r.offset, event: decoded.event, source: `${r.topic}/${r.partition}` });
    }
    const outcome = await engine.evaluate(batch);
    for (const f of outcome.failures) {
      progress.totals.rejected++;
      stderr.write(`${f.source}@${f.seq}: ${f.code}: ${f.reason}\n`);
    }
    await engine.commit(outcome);
    progress.totals.events += records.length;
    progress.totals.accounts += outcome.updates.length;
    progress.totals.skipped += outcome.alreadyApplied;
    progress.maybe();
  });
  progress.done();
  return progress.totals.rejected > 0 ? 3 : 0;
}

async function fromFiles(
  files: string[],
  name: string,
  engine: DetectionEngine,
  cfg: DetectionConfig,
  values: { batch?: string | undefined; 'reorder-ms'?: string | undefined },
  stderr: Writable,
): Promise<number> {
  const progress = progressLine(stderr, name);
  const summary = await replay(
    files.map((f) => ({ name: f, stream: createReadStream(f) })),
    engine,
    {
      batchSize: Math.max(1, wholeNumber('batch', values.batch, 2000)),
      reorderMs: wholeNumber('reorder-ms', values['reorder-ms'], 60_000),
      onAlert: () => undefined,
      onRejected: (r) => stderr.write(`${r.source}:${r.line}: ${r.code}: ${r.reason}\n`),
      maxFutureSkewMs: cfg.events.maxFutureSkewMs,
      source: `backfill:${name}`,
      onBatch: (p) => {
        progress.totals.events = p.events;
        progress.totals.accounts += p.accounts;
        progress.totals.skipped += p.alreadyApplied;
        progress.maybe();
      },
    },
  );
  progress.totals.events = summary.events;
  progress.totals.rejected = summary.rejected + summary.detectorFailures;
  progress.done();
  return progress.totals.rejected > 0 ? 3 : 0;
}
