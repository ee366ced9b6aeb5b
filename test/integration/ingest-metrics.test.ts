/**
 * The market feed's and the collector's metrics, scraped by a real Prometheus: every panel of the
 * ingest dashboard returns data. Both run in-process against a local exchange-shaped server, a real
 * Kafka and a real Redis.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { KafkaPollPublisher } from '../../src/collector/poll-publisher.js';
import type { AccountEvent, MarketEvent } from '../../src/events/schema.js';
import { createMissingTopics, topicLayout } from '../../src/kafka/topics.js';
import { createLogger } from '../../src/logger.js';
import { dashboards } from '../../src/observability/dashboards.js';
import { startOpsServer } from '../../src/observability/http-server.js';
import { fakeBinanceCollector, fakeBinancePoller } from '../helpers/collector.js';
import { FakeExchange } from '../helpers/fake-exchange.js';
import { kafkaClient, testEnv } from '../helpers/kafka.js';
import { expectPanelsHaveData, sample } from '../helpers/metrics.js';

const cleanup: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

describe('market feed and collector metrics', () => {
  it('every ingest dashboard panel query returns data in Prometheus', async () => {
    const brokers = inject('kafkaBrokers');
    const env = testEnv(brokers, inject('redisUrl'));
    const kafka = kafkaClient(brokers);
    await createMissingTopics(kafka, [env.KEYGUARD_TOPIC_MARKET, env.KEYGUARD_TOPIC_FILLS], topicLayout(env));
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    cleanup.push(() => producer.disconnect());
    const send = (topic: string) => async (events: Array<MarketEvent | AccountEvent>) => {
      await producer.send({ topic, acks: -1, messages: events.map((e) => ({ value: JSON.stringify(e) })) });
    };
    const exchange = await new FakeExchange().start();
    cleanup.push(() => exchange.close());
    const now = Date.now();
    exchange.trades.binance.push({ id: 1, price: 70, amount: 1, time: now - 1000 });
    exchange.myTrades.push({ id: 5, orderId: 9, price: 70, qty: 1, time: now - 1000, isBuyer: true });
    const log = createLogger('silent');

    const { poller, metrics: feedMetrics } = fakeBinancePoller(
      exchange,
      send(env.KEYGUARD_TOPIC_MARKET),
      log,
    );
    const redis = new Redis(env.REDIS_URL ?? '');
    cleanup.push(async () => redis.disconnect());
    const publisher = new KafkaPollPublisher(kafka, producer, env, () => false);
    cleanup.push(() => publisher.close());
    const { collector, metrics: collectorMetrics } = fakeBinanceCollector(
      exchange,
      redis,
      env.KEYGUARD_REDIS_PREFIX,
      publisher,
      log,
    );
    const feedOps = await startOpsServer(0, feedMetrics.registry, async () => ({ ready: true, detail: {} }));
    const collectorOps = await startOpsServer(0, collectorMetrics.registry, async () => ({
      ready: true,
      detail: {},
    }));
    cleanup.push(() => feedOps.close());
    cleanup.push(() => collectorOps.close());
    const rounds = async () => {
      for (let i = 0; i < 3; i++) {
        const events = await poller.pollOnce();
        if (events.length > 0) await send(env.KEYGUARD_TOPIC_MARKET)(events);
        await collector.pollOnce();
        await new Promise((r) => setTimeout(r, 300));
      }
    };
    await rounds();
    const feedText = await (await fetch(`http://127.0.0.1:${feedOps.port}/metrics`)).text();
    expect(
      sample(feedText, 'keyguard_market_feed_events_total', { exchange: 'binance', kind: 'trade' }),
    ).toBe(1);
    const collectorText = await (await fetch(`http://127.0.0.1:${collectorOps.port}/metrics`)).text();
    expect(
      sample(collectorText, 'keyguard_collector_events_total', { exchange: 'binance', kind: 'fill' }),
    ).toBe(1);
    // Keep polling while Prometheus scrapes, so rates have samples.
    const background = (async () => {
      for (let i = 0; i < 6; i++) await rounds().catch(() => undefined);
    })();
    const stop = await expectPanelsHaveData(
      [`127.0.0.1:${feedOps.port}`, `127.0.0.1:${collectorOps.port}`],
      dashboards().filter((d) => d.uid === 'keyguard-ingest'),
    );
    cleanup.push(stop);
    cleanup.push(() => background);
  }, 120_000);
});
