import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { describe, expect, inject, it } from 'vitest';
import { backfillCommand } from '../../src/cli/backfill-command.js';
import { loadDetectionConfig } from '../../src/config/detection.js';
import { isMarketEvent } from '../../src/events/schema.js';
import { createLogger } from '../../src/logger.js';
import { syntheticScenario } from '../../src/simulate/synthetic-scenario.js';
import { capture } from '../helpers/cli.js';
import { createTopics, kafkaClient, produce, produceInOrder, testEnv } from '../helpers/kafka.js';
import { readStateRecord } from '../helpers/state-records.js';

describe('keyguard backfill --since (real Kafka, real Redis)', () => {
  it('folds the account topics from a time to their end under the worker source names, reports a bad record, and a re-run changes nothing', async () => {
    const env = testEnv(inject('kafkaBrokers'), inject('redisUrl'));
    const kafka = kafkaClient(inject('kafkaBrokers'));
    await createTopics(kafka, env);
    const events = syntheticScenario({ seed: 35, days: 2, accounts: 12, victims: 0 }).events.filter(
      (e) => !isMarketEvent(e),
    );
    const half = Math.floor(events.length / 2);
    await produceInOrder(kafka, env, events.slice(0, half));
    const since = Date.now();
    while (Date.now() <= since) await sleep(1); // records from here on are stamped after `since`
    const later = events.slice(half);
    await produceInOrder(kafka, env, later);
    await produce(kafka, new Map([[env.KEYGUARD_TOPIC_ORDERS, [{ key: 'x', value: '{"kind":"order",' }]]]));

    const run = async () => {
      const err = capture();
      const code = await backfillCommand(
        ['--since', new Date(since).toISOString()],
        env,
        () => loadDetectionConfig(),
        createLogger('silent'),
        err.stream,
      );
      return { code, stderr: err.text() };
    };
    const first = await run();
    // Every later record read, the bad one reported with its position; the valid ones folded.
    expect(first.stderr).toMatch(
      new RegExp(`${env.KEYGUARD_TOPIC_ORDERS.replace('.', '\\.')}/\\d@\\d+: KG_ERR_`),
    );
    expect(first.stderr).toMatch(
      new RegExp(`: ${later.length + 1} events, [1-9]\\d* account updates, 0 already stored`),
    );
    expect(first.code).toBe(3);

    const redis = new Redis(inject('redisUrl'));
    const keys = await redis.keys(`${env.KEYGUARD_REDIS_PREFIX}acct:*`);
    const laterAccounts = new Set(later.map((e) => (e as { accountId: string }).accountId));
    expect(keys.length).toBe(laterAccounts.size);
    const stored = await readStateRecord(redis, keys[0]!);
    // Positions under the worker's own source names: a worker later skips what the backfill folded.
    expect(Object.keys(stored!.positions).some((f) => f.startsWith(`${env.KEYGUARD_TOPIC_ORDERS}/`))).toBe(
      true,
    );
    const before = await Promise.all(keys.map((k) => redis.get(k)));

    const again = await run();
    expect(again.stderr).toMatch(/ 0 account updates, [1-9]\d* already stored/);
    expect(await Promise.all(keys.map((k) => redis.get(k)))).toEqual(before);
    await redis.quit();
  }, 120_000);
});
