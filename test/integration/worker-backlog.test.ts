/**
 * A backlog: days of events on the topics before the worker starts, with production settings
 * (30 minutes of market history). The market stream, read far faster than the account stream,
 * must be held back and keep its history for the account side, so the worker gives replay's ids.
 */
import { afterEach, describe, expect, inject, it } from 'vitest';
import { loadDetectionConfig } from '../../src/config/detection.js';
import type { Alert } from '../../src/events/schema.js';
import { createLogger } from '../../src/logger.js';
import { syntheticScenario } from '../../src/simulate/synthetic-scenario.js';
import { RedisBaselineStore } from '../../src/state/redis-store.js';
import { Worker } from '../../src/worker/worker.js';
import { inProcessRun } from '../helpers/in-process.js';
import { collect, createTopics, kafkaClient, produceInOrder, testEnv } from '../helpers/kafka.js';
import { waitUntilConsumed } from '../helpers/worker-process.js';

const cfg = loadDetectionConfig(); // production history: reference.historyMs = 30 min
const running: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (running.length > 0) await running.pop()!();
});

describe('worker on a backlog (real Kafka and Redis, production market history)', () => {
  it('gives the alert ids of replay when days of events wait on the topics before it starts', async () => {
    expect(cfg.reference.historyMs).toBe(1_800_000);
    const scenario = syntheticScenario({
      seed: 21,
      days: 2,
      accounts: 12,
      victims: 2,
      attackStrength: 'medium',
    });
    const events = scenario.events;
    const span = events[events.length - 1]!.timestamp - events[0]!.timestamp;
    expect(span).toBeGreaterThan(2 * 3_600_000); // well over 2 h of event time waiting
    const replayed = await inProcessRun(events, cfg);
    const expected = [...new Set(replayed.alerts.map((a) => a.alertId))].sort();
    expect(replayed.alerts.some((a) => a.recommendation === 'revoke_key')).toBe(true);

    const brokers = inject('kafkaBrokers');
    const env = testEnv(brokers, inject('redisUrl'), { KEYGUARD_MARKET_MAX_AHEAD_MS: '3600000' });
    const kafka = kafkaClient(brokers);
    await createTopics(kafka, env);
    await produceInOrder(kafka, env, events); // the whole backlog first

    const store = new RedisBaselineStore({
      url: env.REDIS_URL!,
      keyPrefix: env.KEYGUARD_REDIS_PREFIX,
      ttlSeconds: 3600,
    });
    const worker = new Worker({ kafka, env, cfg, store, log: createLogger('warn') });
    running.push(async () => {
      await worker.stop();
      await store.close();
    });
    const started = Date.now();
    await worker.start();
    await waitUntilConsumed(kafka, env, 150_000);
    const seconds = (Date.now() - started) / 1000;
    const alerts = await collect<Alert>(
      kafka,
      env.KEYGUARD_TOPIC_ALERTS,
      (v) => new Set(v.map((a) => a.alertId)).size >= expected.length,
      30_000,
    );
    console.log(
      `[backlog] ${events.length} events over ${(span / 3_600_000).toFixed(1)} h of event time in ${seconds.toFixed(1)} s; market waits timed out: ${worker.stats.marketWaitTimeouts}`,
    );
    expect([...new Set(alerts.map((a) => a.alertId))].sort()).toEqual(expected);
    expect(worker.stats.marketWaitTimeouts).toBe(0);
  }, 240_000);
});
