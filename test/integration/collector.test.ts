/**
 * `keyguard collect`: the real ccxt client, signed private requests to a local Binance-shaped
 * (and Coinbase-shaped) server, contract events on a real Kafka, the cursor in a real Redis. Restarts (graceful and
 * SIGKILL) neither miss nor repeat a fill.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, expect, inject, it } from 'vitest';
import { collectConfigSchema } from '../../src/collector/collect-config.js';
import { CursorStore } from '../../src/collector/cursor-store.js';
import { KeyCollector } from '../../src/collector/key-collector.js';
import { KafkaPollPublisher, type PollPublisher } from '../../src/collector/poll-publisher.js';
import type { AccountEvent, FillEvent } from '../../src/events/schema.js';
import { venueClient } from '../../src/ingest/ccxt-client.js';
import { createMissingTopics, topicLayout } from '../../src/kafka/topics.js';
import { createLogger } from '../../src/logger.js';
import { CollectorMetrics } from '../../src/observability/collector-metrics.js';
import { collectorCursorKey } from '../../src/state/keys.js';
import { fakeBinanceClient, parseCollectConfigForTest } from '../helpers/collector.js';
import { FakeExchange } from '../helpers/fake-exchange.js';
import { collect, kafkaClient, testEnv } from '../helpers/kafka.js';
import { WorkerProcess } from '../helpers/worker-process.js';

const brokers = inject('kafkaBrokers');
const redisUrl = inject('redisUrl');
const kafka = kafkaClient(brokers);
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

it("a connected key's trades and orders become contract events once each, across a graceful restart and a SIGKILL", async () => {
  const exchange = await new FakeExchange().start();
  cleanups.push(() => exchange.close());
  const t0 = Date.now() - 3_600_000;
  exchange.myTrades.push(
    { id: 11, orderId: 1, price: 70, qty: 0.5, time: t0, isBuyer: true },
    { id: 12, orderId: 1, price: 70.1, qty: 0.5, time: t0 + 1000, isBuyer: true },
    { id: 13, orderId: 2, price: 71, qty: 1, time: t0 + 2000, isBuyer: false },
  );
  exchange.myOrders.push({ orderId: 1, price: 70.1, qty: 1, time: t0 - 500, status: 'FILLED' });
  const apiKey = 'platform-key-AAAA1111';
  const secret = 'platform-secret-ZZZZ9999';
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'keyguard-collect-')), 'collect.json');
  writeFileSync(
    file,
    JSON.stringify({
      keys: [
        {
          exchange: 'binance',
          accountId: 'acct-7',
          apiKeyId: 'key-7',
          credentialsEnv: 'KG_TEST_KEY_7',
          symbols: ['LTC/USDT'],
        },
      ],
      pollIntervalMs: 200,
      venues: {
        binance: {
          markets: 'symbols',
          apiUrls: { public: exchange.url('binance'), private: exchange.url('binance') },
        },
      },
      retry: { initialDelayMs: 50, maxDelayMs: 200, attempts: 3 },
    }),
  );
  const env = testEnv(brokers, redisUrl, { LOG_LEVEL: 'debug' });
  await createMissingTopics(kafka, [env.KEYGUARD_TOPIC_FILLS], topicLayout(env));
  const extra = { KEYGUARD_COLLECT_CONFIG: file, KG_TEST_KEY_7: `${apiKey}:${secret}` };
  const events = (n: number) =>
    collect<AccountEvent>(kafka, env.KEYGUARD_TOPIC_FILLS, (v) => v.length >= n, 30_000);

  const first = new WorkerProcess(env, 'collect', extra);
  first.start();
  cleanups.push(() => first.stop());
  const initial = await events(4);
  expect(initial.filter((e) => e.kind === 'order')).toMatchObject([
    {
      kind: 'order',
      id: '1',
      accountId: 'acct-7',
      apiKeyId: 'key-7',
      exchange: 'binance',
      symbol: 'LTC/USDT',
      status: 'closed',
    },
  ]);
  expect(initial.filter((e) => e.kind === 'fill').map((e) => [e.id, (e as FillEvent).order, e.side])).toEqual(
    [
      ['11', '1', 'buy'],
      ['12', '1', 'buy'],
      ['13', '2', 'sell'],
    ],
  );
  await first.stop();
  expect((await first.exit)?.code).toBe(0);

  // While it is down: a trade at the very millisecond of the last one, and a later one.
  exchange.myTrades.push(
    { id: 14, orderId: 3, price: 71, qty: 1, time: t0 + 2000, isBuyer: true },
    { id: 15, orderId: 3, price: 71.2, qty: 1, time: t0 + 3000, isBuyer: true },
  );
  const second = new WorkerProcess(env, 'collect', extra);
  second.start();
  cleanups.push(() => second.stop());
  await events(6);
  // Killed between polls, once its cursor covers trade 15.
  const redis = new Redis(redisUrl);
  cleanups.push(async () => redis.disconnect());
  const cursorKey = collectorCursorKey(env.KEYGUARD_REDIS_PREFIX, 'binance', 'acct-7', 'key-7');
  for (let i = 0; i < 100; i++) {
    const c = await redis.hget(cursorKey, 'LTC/USDT|trades');
    if (c && JSON.parse(c).since === t0 + 3000) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  second.kill('SIGKILL');
  await second.exit;
  exchange.myTrades.push({ id: 16, orderId: 4, price: 70.9, qty: 2, time: t0 + 4000, isBuyer: true });
  const third = new WorkerProcess(env, 'collect', extra);
  third.start();
  cleanups.push(() => third.stop());
  await events(7);
  await new Promise((r) => setTimeout(r, 1500)); // several more polls: nothing repeats
  const all = await collect<AccountEvent>(kafka, env.KEYGUARD_TOPIC_FILLS, () => false, 2000);
  expect(all.filter((e) => e.kind === 'fill').map((e) => e.id)).toEqual(['11', '12', '13', '14', '15', '16']);
  expect(all.filter((e) => e.kind === 'order').map((e) => e.id)).toEqual(['1']);

  // Requests were signed with the key; the key and secret never reach the logs.
  expect(exchange.privateCalls.length).toBeGreaterThan(0);
  expect(exchange.privateCalls.every((c) => c.apiKey === apiKey && c.signed)).toBe(true);
  for (const p of [first, second, third]) {
    expect(p.output).not.toContain(secret);
    expect(p.output).not.toContain(apiKey);
  }
}, 120_000);

/** The fills topic, an acked publisher and a Redis connection, for a KeyCollector run in the test's process. */
async function inProcessCollectorParts() {
  const env = testEnv(brokers, redisUrl);
  await createMissingTopics(kafka, [env.KEYGUARD_TOPIC_FILLS], topicLayout(env));
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  cleanups.push(() => producer.disconnect());
  const redis = new Redis(redisUrl);
  cleanups.push(async () => redis.disconnect());
  const publisher = new KafkaPollPublisher(kafka, producer, env, () => false);
  cleanups.push(() => publisher.close());
  return { env, redis, publisher };
}

it('a poll interrupted after publishing, or before, is finished on restart without a duplicate or a gap', async () => {
  const exchange = await new FakeExchange().start();
  cleanups.push(() => exchange.close());
  const { env, redis, publisher } = await inProcessCollectorParts();
  const cfg = parseCollectConfigForTest(exchange);
  const key = cfg.keys[0]!;
  const client = () => fakeBinanceClient(exchange, key.symbols);
  const metrics = new CollectorMetrics(['binance'], false);
  const log = createLogger('silent');
  const store = new CursorStore(redis, env.KEYGUARD_REDIS_PREFIX);
  const collector = (s: CursorStore, p: PollPublisher) =>
    new KeyCollector(client(), key, s, p, metrics, cfg.retry, log, ['k', 's']);
  const t0 = Date.now() - 60_000;

  // 1. The process dies after Kafka acknowledged the events, before the cursors moved.
  exchange.myTrades.push({ id: 21, orderId: 1, price: 70, qty: 1, time: t0, isBuyer: true });
  class DiesBeforeCursorMoves extends CursorStore {
    override async commit(): Promise<void> {
      throw new Error('killed');
    }
  }
  await expect(
    collector(new DiesBeforeCursorMoves(redis, env.KEYGUARD_REDIS_PREFIX), publisher).pollOnce(),
  ).rejects.toThrow('killed');
  expect(await collector(store, publisher).pollOnce()).toBe(0); // finished the pending poll: nothing new

  // 2. The process dies after recording the poll, before publishing.
  exchange.myTrades.push({ id: 22, orderId: 2, price: 70.5, qty: 1, time: t0 + 1000, isBuyer: true });
  const diesBeforePublishing: PollPublisher = {
    plan: (events) => publisher.plan(events),
    landed: (id, t) => publisher.landed(id, t),
    publish: async () => {
      throw new Error('killed');
    },
  };
  await expect(collector(store, diesBeforePublishing).pollOnce()).rejects.toThrow('killed');
  expect(await collector(store, publisher).pollOnce()).toBe(0);

  // 3. And on, normally.
  exchange.myTrades.push({ id: 23, orderId: 3, price: 70.6, qty: 1, time: t0 + 2000, isBuyer: true });
  expect(await collector(store, publisher).pollOnce()).toBe(1);

  const all = await collect<AccountEvent>(kafka, env.KEYGUARD_TOPIC_FILLS, (v) => v.length > 3, 3000);
  expect(all.filter((e) => e.kind === 'fill').map((e) => e.id)).toEqual(['21', '22', '23']);
  expect((await store.load(key)).pending).toBeUndefined();
}, 60_000);

it('a Coinbase Advanced Trade key: signed requests for its historical fills and orders, each published once', async () => {
  const exchange = await new FakeExchange().start();
  cleanups.push(() => exchange.close());
  exchange.coinbaseSecret = 'coinbase-secret-QQQQ4444';
  const { env, redis, publisher } = await inProcessCollectorParts();
  const cfg = collectConfigSchema.parse({
    keys: [
      {
        exchange: 'coinbase',
        accountId: 'acct-cb',
        apiKeyId: 'key-cb',
        credentialsEnv: 'UNUSED',
        symbols: ['ADA/USDT'],
      },
    ],
    venues: { coinbase: { markets: 'symbols', apiUrls: { rest: exchange.url('coinbase') } } },
    retry: { initialDelayMs: 20, maxDelayMs: 50, attempts: 2 },
  });
  const key = cfg.keys[0]!;
  const client = venueClient(
    {
      exchange: 'coinbase',
      symbols: key.symbols,
      ccxt: {},
      markets: 'symbols',
      apiUrls: { rest: exchange.url('coinbase') },
    },
    { apiKey: 'cb-key-1', secret: exchange.coinbaseSecret },
  );
  const collector = new KeyCollector(
    client,
    key,
    new CursorStore(redis, env.KEYGUARD_REDIS_PREFIX),
    publisher,
    new CollectorMetrics(['coinbase'], false),
    cfg.retry,
    createLogger('silent'),
    ['cb-key-1', exchange.coinbaseSecret],
  );
  const t0 = Date.now() - 60_000;
  exchange.myOrders.push({ orderId: 1, price: 0.39, qty: 10, time: t0, status: 'FILLED' });
  exchange.myTrades.push(
    { id: 1, orderId: 1, price: 0.39, qty: 4, time: t0 + 100, isBuyer: true },
    { id: 2, orderId: 1, price: 0.39, qty: 6, time: t0 + 200, isBuyer: true },
  );
  expect(await collector.pollOnce()).toBe(3);
  exchange.myTrades.push({ id: 3, orderId: 2, price: 0.41, qty: 1, time: t0 + 5_000, isBuyer: false });
  expect(await collector.pollOnce()).toBe(1);
  expect(await collector.pollOnce()).toBe(0);

  const all = await collect<AccountEvent>(kafka, env.KEYGUARD_TOPIC_FILLS, (v) => v.length >= 4, 10_000);
  expect(all).toHaveLength(4);
  expect(all[0]).toMatchObject({
    kind: 'order',
    exchange: 'coinbase',
    accountId: 'acct-cb',
    apiKeyId: 'key-cb',
    id: 'o-1',
    symbol: 'ADA/USDT',
    type: 'limit',
    side: 'buy',
    status: 'closed',
    price: 0.39,
    amount: 10,
  });
  expect(all.filter((e) => e.kind === 'fill')).toMatchObject([
    {
      id: 't-1',
      order: 'o-1',
      symbol: 'ADA/USDT',
      side: 'buy',
      price: 0.39,
      amount: 4,
      takerOrMaker: 'taker',
    },
    { id: 't-2', amount: 6 },
    { id: 't-3', order: 'o-2', side: 'sell', price: 0.41 },
  ]);
  expect(exchange.privateCalls.length).toBeGreaterThanOrEqual(6);
  expect(exchange.privateCalls.every((c) => c.apiKey === 'cb-key-1' && c.signed)).toBe(true);
}, 60_000);
