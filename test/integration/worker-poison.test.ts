/**
 * Poison that used to wedge the pipeline: records as large as the broker allows, ten in a row on
 * one key, must become small dead letters (prefix, size, hash) while everything around them is
 * processed; and a partition stuck retrying must make /readyz say so.
 */

import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { RuntimeEnv } from '../../src/config/runtime.js';
import { AckedProducer } from '../../src/kafka/acked-producer.js';
import { createLogger } from '../../src/logger.js';
import { DEAD_LETTER_MAX_ORIGINAL, type DeadLetter } from '../../src/pipeline/dead-letter.js';
import { RedisBaselineStore } from '../../src/state/redis-store.js';
import { Worker } from '../../src/worker/worker.js';
import { order } from '../helpers/events.js';
import { fastForwardConfig } from '../helpers/fast-forward.js';
import { collect, createTopics, kafkaClient, produce, testEnv } from '../helpers/kafka.js';
import { readStateRecord } from '../helpers/state-records.js';
import { waitUntil, waitUntilConsumed } from '../helpers/worker-process.js';
import { startLocalRedis } from '../services/redis.js';

const cfg = fastForwardConfig();
const running: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (running.length > 0) await running.pop()!();
});

/** The broker's default message.max.bytes (1 MiB + 12): the largest record batch it accepts. */
const BROKER_MAX_MESSAGE_BYTES = 1_048_588;

async function startWorker(env: RuntimeEnv): Promise<Worker> {
  const store = new RedisBaselineStore({
    url: env.REDIS_URL!,
    keyPrefix: env.KEYGUARD_REDIS_PREFIX,
    ttlSeconds: 3600,
  });
  const worker = new Worker({
    kafka: kafkaClient(env.KAFKA_BROKERS!.split(',')),
    env,
    cfg,
    store,
    log: createLogger('silent'),
  });
  await worker.start();
  running.push(async () => {
    await worker.stop();
    await store.close();
  });
  return worker;
}

/** A test's own topics (and Redis prefix) on the shared broker. */
async function freshTopics(redisUrl: string, over: Record<string, string> = {}) {
  const brokers = inject('kafkaBrokers');
  const env = testEnv(brokers, redisUrl, over);
  const kafka = kafkaClient(brokers);
  await createTopics(kafka, env);
  return { env, kafka };
}

async function ordersCounted(env: RuntimeEnv, accountId: string): Promise<number> {
  const redis = new Redis(env.REDIS_URL!);
  try {
    const json = (
      await readStateRecord(redis, `${env.KEYGUARD_REDIS_PREFIX}acct:{binance:${accountId}}:state`)
    )?.json;
    return json ? JSON.parse(json).orders : 0;
  } finally {
    await redis.quit();
  }
}

describe('worker under poison records (real Kafka and Redis)', () => {
  it('ten 1 MB records in a row on one key and one at the broker limit become bounded dead letters; the rest is processed', async () => {
    const { env, kafka } = await freshTopics(inject('redisUrl'));
    const worker = await startWorker(env);
    const t = Date.UTC(2022, 10, 14, 12);
    const valid = (i: number) => ({
      key: 'acct-p',
      value: JSON.stringify(order({ accountId: 'acct-p', id: `p${i}`, timestamp: t + i * 1000 })),
    });
    // One record per send: each is alone as large as a record batch may be.
    const huge = (i: number, bytes: number) => ({
      key: 'acct-p',
      value: Buffer.concat([Buffer.from(`{"kind":"order","n":${i},"pad":"`), Buffer.alloc(bytes, 'x')]),
    });
    const originals: Buffer[] = [];
    for (let i = 0; i < 5; i++) await produce(kafka, new Map([[env.KEYGUARD_TOPIC_ORDERS, [valid(i)]]]));
    for (let i = 0; i < 10; i++) {
      const m = huge(i, 1_000_000);
      originals.push(m.value);
      await produce(kafka, new Map([[env.KEYGUARD_TOPIC_ORDERS, [m]]]));
    }
    for (let i = 5; i < 10; i++) await produce(kafka, new Map([[env.KEYGUARD_TOPIC_ORDERS, [valid(i)]]]));
    // A record batch right at the broker's limit (batch and record framing take ~100 bytes).
    const atLimit = huge(10, BROKER_MAX_MESSAGE_BYTES - 200);
    originals.push(atLimit.value);
    await produce(kafka, new Map([[env.KEYGUARD_TOPIC_ORDERS, [atLimit]]]));
    await produce(kafka, new Map([[env.KEYGUARD_TOPIC_ORDERS, [valid(10)]]]));

    await waitUntilConsumed(kafka, env, 90_000);
    const dead = await collect<DeadLetter>(
      kafka,
      env.KEYGUARD_TOPIC_DEAD_LETTER,
      (v) => v.length >= 11,
      30_000,
    );
    expect(dead).toHaveLength(11);
    for (const d of dead) {
      expect(d.code).toBe('KG_ERR_EVENT_TOO_LARGE');
      expect(d.truncated).toBe(true);
      expect(Buffer.from(d.originalBase64, 'base64').length).toBeLessThanOrEqual(DEAD_LETTER_MAX_ORIGINAL);
    }
    // Size and hash name the original, which stays at its source offset.
    expect(dead.map((d) => d.originalSha256).sort()).toEqual(
      originals.map((o) => createHash('sha256').update(o).digest('hex')).sort(),
    );
    expect(dead.map((d) => d.originalBytes).sort((a, b) => a - b)).toEqual(
      originals.map((o) => o.length).sort((a, b) => a - b),
    );
    expect(await ordersCounted(env, 'acct-p')).toBe(11);
    expect(worker.stats.deadLetters).toBe(11);
    expect((await worker.readiness()).ready).toBe(true);
  }, 150_000);

  it('a send the broker refuses does not wedge the producer: it is replaced and the next publish lands', async () => {
    const { env, kafka } = await freshTopics(inject('redisUrl'));
    const topic = env.KEYGUARD_TOPIC_DEAD_LETTER;
    // A budget above the broker's limit, so the 2 MB record goes out as one send and is refused.
    const producer = new AckedProducer(kafka, 8 * 1024 * 1024, createLogger('silent'));
    await producer.connect();
    running.push(() => producer.disconnect());
    await producer.publish([{ topic, messages: [{ key: 'k', value: 'before' }] }]);
    await expect(
      producer.publish([{ topic, messages: [{ key: 'k', value: Buffer.alloc(2 * 1024 * 1024, 'x') }] }]),
    ).rejects.toThrow();
    expect(producer.recreated).toBe(1);
    await producer.publish([{ topic, messages: [{ key: 'k', value: 'after' }] }]);
    const values = await collect<string>(
      kafka,
      topic,
      (v) => v.includes('after'),
      30_000,
      (b) => b.toString(),
    );
    expect(values).toEqual(['before', 'after']);
  }, 60_000);

  it('dead-letters an order dated in the year 3000 and an account id with an invisible character; its windows stay on real time', async () => {
    const { env, kafka } = await freshTopics(inject('redisUrl'));
    const worker = await startWorker(env);
    const t = Date.UTC(2022, 10, 14, 12);
    const o = (id: string, over: Record<string, unknown> = {}) => ({
      key: 'acct-f',
      value: JSON.stringify({ ...order({ accountId: 'acct-f', id, timestamp: t }), ...over }),
    });
    await produce(
      kafka,
      new Map([
        [
          env.KEYGUARD_TOPIC_ORDERS,
          [
            o('f1'),
            o('f2', { timestamp: Date.UTC(3000, 0, 1) }),
            o('f3', { accountId: 'acct-\u200df', timestamp: t + 1000 }),
            o('f4', { timestamp: t + 2000 }),
          ],
        ],
      ]),
    );
    await waitUntilConsumed(kafka, env, 60_000);
    const dead = await collect<DeadLetter>(
      kafka,
      env.KEYGUARD_TOPIC_DEAD_LETTER,
      (v) => v.length >= 2,
      30_000,
    );
    expect(dead.map((d) => d.code).sort()).toEqual(['KG_ERR_EVENT_INVALID', 'KG_ERR_EVENT_TIME_AHEAD']);
    expect(dead.find((d) => d.code === 'KG_ERR_EVENT_INVALID')!.reason).toMatch(/^accountId: /);
    expect(await ordersCounted(env, 'acct-f')).toBe(2);
    const redis = new Redis(env.REDIS_URL!);
    const state = JSON.parse(
      (await readStateRecord(redis, `${env.KEYGUARD_REDIS_PREFIX}acct:{binance:acct-f}:state`))!.json,
    );
    await redis.quit();
    expect(state.act.l).toBe(t + 2000); // the last real order, not the year 3000
    expect(worker.stats.deadLetters).toBe(2);
  }, 120_000);

  it('a partition paused for longer than KEYGUARD_MAX_PAUSED_MS turns /readyz to not ready, with the reason, until it recovers', async () => {
    const redis = await startLocalRedis({ dataDir: mkdtempSync(path.join(os.tmpdir(), 'keyguard-redis-')) });
    try {
      const { env, kafka } = await freshTopics(redis.url, { KEYGUARD_MAX_PAUSED_MS: '1500' });
      const worker = await startWorker(env);
      const t = Date.UTC(2022, 10, 14, 12);
      const batch = (from: number) =>
        new Map([
          [
            env.KEYGUARD_TOPIC_ORDERS,
            Array.from({ length: 5 }, (_, i) => ({
              key: 'acct-r',
              value: JSON.stringify(
                order({ accountId: 'acct-r', id: `r${from + i}`, timestamp: t + (from + i) * 1000 }),
              ),
            })),
          ],
        ]);
      await produce(kafka, batch(0));
      await waitUntil(async () => (await ordersCounted(env, 'acct-r')) === 5, 60_000, 'the first orders');
      expect((await worker.readiness()).ready).toBe(true);

      await redis.kill();
      await produce(kafka, batch(5));
      // Not ready at once (Redis does not answer), and past the limit the stuck partition is named.
      await waitUntil(
        async () => (await worker.readiness()).detail.stuckPartitions !== undefined,
        60_000,
        'a stuck partition',
      );
      const { ready, detail } = await worker.readiness();
      expect(ready).toBe(false);
      expect(detail.reason).toMatch(/paused for over 1500 ms/);
      expect(detail.stuckPartitions).toHaveLength(1);

      await redis.start();
      await waitUntil(async () => (await worker.readiness()).ready, 60_000, 'readiness to come back');
      await waitUntilConsumed(kafka, env, 60_000);
      expect(await ordersCounted(env, 'acct-r')).toBe(10);
    } finally {
      await redis.stop();
    }
  }, 180_000);
});
