/**
 * A broker restart mid-stream: the worker reconnects and continues, and the outcome equals an
 * undisturbed run. Uses a broker of its own (the shared one must stay up for the other files).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Alert } from '../../src/events/schema.js';
import { createLogger } from '../../src/logger.js';
import { syntheticScenario } from '../../src/simulate/synthetic-scenario.js';
import { RedisBaselineStore } from '../../src/state/redis-store.js';
import { Worker } from '../../src/worker/worker.js';
import { fastForwardConfig } from '../helpers/fast-forward.js';
import { inProcessRun } from '../helpers/in-process.js';
import { collect, createTopics, kafkaClient, produceInOrder, testEnv } from '../helpers/kafka.js';
import { waitUntilConsumed } from '../helpers/worker-process.js';
import { type LocalKafka, startLocalKafka } from '../services/kafka.js';

const cfg = fastForwardConfig();
let broker: LocalKafka;

beforeAll(async () => {
  broker = await startLocalKafka();
}, 120_000);
afterAll(async () => {
  await broker?.stop();
});

describe('broker restart', () => {
  it('the worker reconnects, continues, and produces the alerts of an undisturbed run', async () => {
    const scenario = syntheticScenario({
      seed: 17,
      days: 2,
      accounts: 10,
      victims: 1,
      attackStrength: 'strong',
    });
    const events = scenario.events;
    const replayed = await inProcessRun(events, cfg);
    const expected = [...new Set(replayed.alerts.map((a) => a.alertId))].sort();

    // Exact equality with replay needs every batch scored against the market as it was: on a busy
    // machine the market feed can fall seconds behind while the broker restarts, so wait for it.
    const env = testEnv(broker.brokers, inject('redisUrl'), { KEYGUARD_MARKET_WAIT_MS: '30000' });
    await createTopics(kafkaClient(broker.brokers), env);
    const store = new RedisBaselineStore({
      url: env.REDIS_URL!,
      keyPrefix: env.KEYGUARD_REDIS_PREFIX,
      ttlSeconds: 3600,
    });
    const worker = new Worker({
      kafka: kafkaClient(broker.brokers),
      env,
      cfg,
      store,
      log: createLogger(process.env.TEST_LOG ?? 'silent'),
    });
    await worker.start();
    try {
      const third = Math.floor(events.length / 3);
      await produceInOrder(kafkaClient(broker.brokers), env, events.slice(0, third));
      await waitUntilConsumed(kafkaClient(broker.brokers), env, 60_000);
      await broker.restart(); // while idle
      await produceInOrder(kafkaClient(broker.brokers), env, events.slice(third, 2 * third));
      await broker.restart(); // while the worker is busy with what was just produced
      await produceInOrder(kafkaClient(broker.brokers), env, events.slice(2 * third));
      await waitUntilConsumed(kafkaClient(broker.brokers), env, 120_000);
      const alerts = await collect<Alert>(
        kafkaClient(broker.brokers),
        env.KEYGUARD_TOPIC_ALERTS,
        (v) => new Set(v.map((a) => a.alertId)).size >= expected.length,
        30_000,
      );
      expect([...new Set(alerts.map((a) => a.alertId))].sort()).toEqual(expected);
      expect(expected.length).toBeGreaterThan(0);
    } finally {
      await worker.stop();
      await store.close();
    }
  }, 240_000);
});
