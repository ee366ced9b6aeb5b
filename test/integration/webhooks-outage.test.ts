/**
 * A Redis outage longer than the consumer session: the dispatcher pauses (the breaker needs its
 * shared state before anything is sent), keeps its partitions by heartbeating, and delivers
 * everything once Redis is back.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, inject, it } from 'vitest';
import { kafkaClient, testEnv } from '../helpers/kafka.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';
import {
  metricValue,
  newSecret,
  publishRecommendations,
  recommendation,
  startDispatcher,
} from '../helpers/webhooks.js';
import { startLocalRedis } from '../services/redis.js';

const brokers = inject('kafkaBrokers');
const kafka = kafkaClient(brokers);
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

it('Redis down for longer than the session timeout: the dispatcher waits, keeps its partitions, then delivers all', async () => {
  const redis = await startLocalRedis({ dataDir: mkdtempSync(path.join(os.tmpdir(), 'keyguard-redis-')) });
  cleanups.push(() => redis.stop());
  const env = testEnv(brokers, redis.url, { KEYGUARD_SESSION_TIMEOUT_MS: '6000' });
  const secret = newSecret();
  const r = await new WebhookReceiver(secret).start();
  cleanups.push(() => r.close());
  const d = await startDispatcher(kafka, env, {
    endpoints: [{ id: 'platform', url: r.url, secrets: [secret], timeoutMs: 1000 }],
  });
  cleanups.push(() => d.stop());
  const before = Array.from({ length: 5 }, () => recommendation({ timestamp: Date.now() }));
  await publishRecommendations(kafka, env.KEYGUARD_TOPIC_RECOMMENDATIONS, before);
  await r.waitFor(() => r.accepted.size === 5, 20_000, 'the first five');

  const joins = d.dispatcher.stats.joins;
  await redis.kill();
  const during = Array.from({ length: 5 }, () => recommendation({ timestamp: Date.now() }));
  await publishRecommendations(kafka, env.KEYGUARD_TOPIC_RECOMMENDATIONS, during);
  await new Promise((res) => setTimeout(res, 8000)); // longer than the 6 s session
  expect(r.accepted.size).toBe(5); // nothing is sent without the breaker's answer
  expect(await metricValue(d.metrics.retries, { stage: 'breaker' })).toBeGreaterThan(0);
  // Heartbeats while retrying kept the session: no rejoin, so nothing in hand was fetched again.
  expect(d.dispatcher.stats.joins).toBe(joins);

  await redis.start();
  await r.waitFor(() => r.accepted.size === 10, 30_000, 'the five published during the outage');
  expect([...r.accepted.keys()].sort()).toEqual([...before, ...during].map((x) => x.alertId).sort());
}, 90_000);
