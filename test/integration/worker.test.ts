import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { RuntimeEnv } from '../../src/config/runtime.js';
import type { Alert } from '../../src/events/schema.js';
import { createLogger } from '../../src/logger.js';
import type { DeadLetter } from '../../src/pipeline/dead-letter.js';
import { syntheticScenario } from '../../src/simulate/synthetic-scenario.js';
import { RedisBaselineStore } from '../../src/state/redis-store.js';
import { Worker } from '../../src/worker/worker.js';
import { order } from '../helpers/events.js';
import { fastForwardConfig } from '../helpers/fast-forward.js';
import { inProcessRun } from '../helpers/in-process.js';
import { collect, createTopics, kafkaClient, produce, produceInOrder, testEnv } from '../helpers/kafka.js';
import { readStateRecord } from '../helpers/state-records.js';
import { waitUntilConsumed } from '../helpers/worker-process.js';

const cfg = fastForwardConfig();
const running: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (running.length > 0) await running.pop()!();
});

/** Two days of a small population with one strong attack, and the attacked account. */
function attackScenario() {
  const scenario = syntheticScenario({
    seed: 8,
    days: 2,
    accounts: 12,
    victims: 1,
    attackStrength: 'strong',
  });
  const victim = Object.entries(scenario.truth).find(([, t]) => t.kind === 'victim')![0];
  return { scenario, victim };
}

async function startWorker(env: RuntimeEnv): Promise<Worker & { store: RedisBaselineStore }> {
  const kafka = kafkaClient(env.KAFKA_BROKERS!.split(','));
  const store = new RedisBaselineStore({
    url: env.REDIS_URL!,
    keyPrefix: env.KEYGUARD_REDIS_PREFIX,
    ttlSeconds: 3600,
  });
  const worker = new Worker({ kafka, env, cfg, store, log: createLogger('warn') });
  await worker.start();
  running.push(async () => {
    await worker.stop();
    await store.close();
  });
  return Object.assign(worker, { store });
}

describe('keyguard worker (real Kafka and Redis)', () => {
  it('turns an attack on the topics into a revoke_key recommendation, with the same alert ids as replay', async () => {
    const brokers = inject('kafkaBrokers');
    const env = testEnv(brokers, inject('redisUrl'));
    const kafka = kafkaClient(brokers);
    await createTopics(kafka, env);
    const { scenario, victim } = attackScenario();
    const replayed = await inProcessRun(scenario.events, cfg);
    const expectedIds = replayed.alerts.map((a) => a.alertId).sort();
    expect(replayed.alerts.some((a) => a.accountId === victim && a.recommendation === 'revoke_key')).toBe(
      true,
    );

    const worker = await startWorker(env);
    await produceInOrder(kafka, env, scenario.events);
    const alerts = await collect<Alert>(
      kafka,
      env.KEYGUARD_TOPIC_ALERTS,
      (v) => v.length >= expectedIds.length,
      60_000,
    );
    const recs = await collect<Alert>(kafka, env.KEYGUARD_TOPIC_RECOMMENDATIONS, (v) => v.length > 0, 10_000);
    const revokeIds = replayed.alerts.filter((a) => a.recommendation === 'revoke_key').map((a) => a.alertId);
    expect(recs.some((a) => a.accountId === victim && a.recommendation === 'revoke_key' && a.apiKeyId)).toBe(
      true,
    );
    expect(recs.map((a) => a.alertId).sort()).toEqual(revokeIds.sort());
    expect(alerts.map((a) => a.alertId).sort()).toEqual(expectedIds);
    // The batches of a fetch are one unit of work: at most one Redis read and one write each,
    // however many partitions it holds (a unit with nothing to save makes only the read). Counted
    // once everything is committed and the worker stopped (no unit half done).
    await waitUntilConsumed(kafka, env, 60_000);
    await worker.stop();
    expect(worker.stats.maxUnitPartitions).toBeGreaterThan(1);
    expect(worker.store.roundTrips).toBeLessThanOrEqual(2 * worker.stats.batches);
    expect(worker.store.roundTrips).toBeGreaterThan(worker.stats.batches);
  }, 120_000);

  it('sends poison records to the dead-letter topic with reason, source and bytes, and processes the rest', async () => {
    const brokers = inject('kafkaBrokers');
    const env = testEnv(brokers, inject('redisUrl'));
    const kafka = kafkaClient(brokers);
    await createTopics(kafka, env);
    const valid = Array.from({ length: 10 }, (_, i) =>
      JSON.stringify(order({ id: `v${i}`, accountId: 'acct-p', timestamp: 1_700_000_000_000 + i })),
    );
    const huge = JSON.stringify({ ...order({ id: 'huge', accountId: 'acct-p' }), note: 'x'.repeat(200_000) });
    const poison = ['not json', JSON.stringify({ ...order({ accountId: 'acct-p' }), amount: 'lots' }), huge];
    const messages = [...valid.slice(0, 4), ...poison, ...valid.slice(4)].map((value) => ({
      key: 'acct-p',
      value,
    }));
    const market = [
      { key: 'YOYOW/BTC', value: '{"kind":"trade"' },
      { key: 'YOYOW/BTC', value: JSON.stringify(order({ accountId: 'acct-p', id: 'misrouted' })) },
    ];
    await produce(
      kafka,
      new Map([
        [env.KEYGUARD_TOPIC_ORDERS, messages],
        [env.KEYGUARD_TOPIC_MARKET, market],
      ]),
    );
    await startWorker(env);
    const all = await collect<DeadLetter>(
      kafka,
      env.KEYGUARD_TOPIC_DEAD_LETTER,
      (v) => v.length >= 5,
      30_000,
    );
    const fromMarket = all.filter((d) => d.source.topic === env.KEYGUARD_TOPIC_MARKET);
    expect(fromMarket.map((d) => d.code).sort()).toEqual([
      'KG_ERR_EVENT_NOT_JSON',
      'KG_ERR_EVENT_WRONG_TOPIC',
    ]);
    const dead = all.filter((d) => d.source.topic === env.KEYGUARD_TOPIC_ORDERS);
    expect(dead.map((d) => d.code).sort()).toEqual([
      'KG_ERR_EVENT_INVALID',
      'KG_ERR_EVENT_NOT_JSON',
      'KG_ERR_EVENT_TOO_LARGE',
    ]);
    const invalid = dead.find((d) => d.code === 'KG_ERR_EVENT_INVALID')!;
    expect(invalid.reason).toMatch(/^amount: /);
    expect(invalid.source).toMatchObject({ topic: env.KEYGUARD_TOPIC_ORDERS, offset: '5' });
    expect(
      Buffer.from(dead.find((d) => d.code === 'KG_ERR_EVENT_NOT_JSON')!.originalBase64, 'base64').toString(),
    ).toBe('not json');
    expect(dead.find((d) => d.code === 'KG_ERR_EVENT_TOO_LARGE')!.originalBytes).toBe(huge.length);
    // Every valid order around the poison was counted in the account's baseline.
    const redis = new Redis(env.REDIS_URL!);
    const key = `${env.KEYGUARD_REDIS_PREFIX}acct:{binance:acct-p}:state`;
    let orders = 0;
    for (let i = 0; i < 100 && orders < 10; i++) {
      const json = (await readStateRecord(redis, key))?.json;
      orders = json ? JSON.parse(json).orders : 0;
      if (orders < 10) await new Promise((r) => setTimeout(r, 100));
    }
    await redis.quit();
    expect(orders).toBe(10);
  }, 60_000);

  it('with orders and fills on separate co-partitioned topics, still merges them and revokes the victim', async () => {
    const brokers = inject('kafkaBrokers');
    const base = testEnv(brokers, inject('redisUrl'));
    const env = {
      ...base,
      KEYGUARD_TOPIC_ORDERS: base.KEYGUARD_TOPIC_ORDERS.replace('account-events', 'orders'),
      KEYGUARD_TOPIC_FILLS: base.KEYGUARD_TOPIC_ORDERS.replace('account-events', 'fills'),
    };
    const kafka = kafkaClient(brokers);
    await createTopics(kafka, env);
    const { scenario, victim } = attackScenario();
    const worker = await startWorker(env);
    await produceInOrder(kafka, env, scenario.events);
    const recs = await collect<Alert>(
      kafka,
      env.KEYGUARD_TOPIC_RECOMMENDATIONS,
      (v) => v.some((a) => a.accountId === victim),
      60_000,
    );
    expect(recs.some((a) => a.accountId === victim && a.recommendation === 'revoke_key')).toBe(true);
    expect(worker.stats.deadLetters).toBe(0);
  }, 120_000);

  it('refuses account topics that are not co-partitioned', async () => {
    const brokers = inject('kafkaBrokers');
    const base = testEnv(brokers, inject('redisUrl'));
    const env = { ...base, KEYGUARD_TOPIC_FILLS: `${base.KEYGUARD_TOPIC_ORDERS}.fills` };
    const admin = kafkaClient(brokers).admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic: env.KEYGUARD_TOPIC_ORDERS, numPartitions: 3 },
        { topic: env.KEYGUARD_TOPIC_FILLS, numPartitions: 2 },
      ],
    });
    await admin.disconnect();
    const store = new RedisBaselineStore({
      url: env.REDIS_URL!,
      keyPrefix: env.KEYGUARD_REDIS_PREFIX,
      ttlSeconds: 60,
    });
    const worker = new Worker({ kafka: kafkaClient(brokers), env, cfg, store, log: createLogger('silent') });
    await expect(worker.ensureTopics()).rejects.toMatchObject({ code: 'KG_ERR_TOPIC_LAYOUT' });
    await store.close();
  });
});
