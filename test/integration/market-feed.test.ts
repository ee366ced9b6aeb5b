/**
 * `keyguard market-feed`: the real ccxt clients pointed at a local exchange-shaped server publish
 * contract ticker and trade events to a real Kafka; a 429 and a 500 are retried; a venue that is
 * down does not stop the others.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { MarketEvent, TickerEvent, TradeEvent } from '../../src/events/schema.js';
import { venueClient } from '../../src/ingest/ccxt-client.js';
import { createMissingTopics, topicLayout } from '../../src/kafka/topics.js';
import { createLogger } from '../../src/logger.js';
import { parseMarketFeedConfig } from '../../src/market-data/feed-config.js';
import { VenuePoller } from '../../src/market-data/venue-poller.js';
import { MarketFeedMetrics } from '../../src/observability/market-feed-metrics.js';
import { FakeExchange } from '../helpers/fake-exchange.js';
import { collect, kafkaClient, testEnv } from '../helpers/kafka.js';
import { metricValue } from '../helpers/webhooks.js';
import { WorkerProcess } from '../helpers/worker-process.js';

const brokers = inject('kafkaBrokers');
const kafka = kafkaClient(brokers);
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

function feedConfig(exchange: FakeExchange, over: Record<string, unknown> = {}) {
  return {
    venues: [
      {
        exchange: 'binance',
        symbols: ['LTC/USDT'],
        pollIntervalMs: 300,
        markets: 'symbols',
        apiUrls: { public: exchange.url('binance') },
      },
      {
        exchange: 'kucoin',
        symbols: ['LTC/USDT'],
        pollIntervalMs: 300,
        markets: 'symbols',
        apiUrls: { public: exchange.url('kucoin') },
      },
    ],
    retry: { initialDelayMs: 50, maxDelayMs: 200, attempts: 4 },
    ...over,
  };
}

describe('market feed', () => {
  it('publishes tickers and new trades from every venue; retries a 429 and a 500; a venue that is down does not stop the others', async () => {
    const exchange = await new FakeExchange().start();
    cleanups.push(() => exchange.close());
    const t0 = Date.now() - 60_000;
    exchange.trades.binance.push(
      { id: 1, price: 70, amount: 0.5, time: t0 },
      { id: 2, price: 70.2, amount: 1, time: t0 + 1000 },
    );
    exchange.trades.kucoin.push({ id: 9, price: 70.1, amount: 2, time: t0 + 500 });
    exchange.failures.set('/binance/api/v3/ticker', [429, 500]);
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'keyguard-feed-')), 'feed.json');
    writeFileSync(file, JSON.stringify(feedConfig(exchange)));
    const env = testEnv(brokers, inject('redisUrl'), { LOG_LEVEL: 'info' });
    await createMissingTopics(kafka, [env.KEYGUARD_TOPIC_MARKET], topicLayout(env));
    const feed = new WorkerProcess(env, 'market-feed', { KEYGUARD_MARKET_FEED_CONFIG: file });
    feed.start();
    cleanups.push(() => feed.stop());

    const first = await collect<MarketEvent>(
      kafka,
      env.KEYGUARD_TOPIC_MARKET,
      (v) =>
        v.filter((e) => e.kind === 'trade').length >= 3 &&
        v.some((e) => e.exchange === 'kucoin' && e.kind === 'ticker'),
      30_000,
    );
    const tickers = first.filter((e): e is TickerEvent => e.kind === 'ticker');
    expect(tickers.find((e) => e.exchange === 'binance')).toMatchObject({
      symbol: 'LTC/USDT',
      bid: 70,
      ask: 70.2,
      last: 70.1,
      baseVolume: 1000,
    });
    expect(tickers.find((e) => e.exchange === 'kucoin')).toMatchObject({ symbol: 'LTC/USDT', last: 70.1 });
    const trades = first.filter((e): e is TradeEvent => e.kind === 'trade');
    expect(
      trades.filter((e) => e.exchange === 'binance').map((e) => [e.id, e.price, e.amount, e.timestamp]),
    ).toEqual([
      ['1', 70, 0.5, t0],
      ['2', 70.2, 1, t0 + 1000],
    ]);
    // KuCoin's public trades carry no id: a stable one is derived.
    expect(trades.find((e) => e.exchange === 'kucoin')?.id).toMatch(/^[0-9a-f]{24}$/);
    expect(feed.output).toMatch(/exchange request failed, retrying/);

    // KuCoin goes down; Binance keeps publishing new trades, each once.
    exchange.down.add('kucoin');
    exchange.trades.binance.push({ id: 3, price: 70.3, amount: 1, time: Date.now() });
    const later = await collect<MarketEvent>(
      kafka,
      env.KEYGUARD_TOPIC_MARKET,
      (v) => v.some((e) => e.kind === 'trade' && e.id === '3'),
      30_000,
    );
    await new Promise((r) => setTimeout(r, 1000)); // a few more polls
    const all = await collect<MarketEvent>(kafka, env.KEYGUARD_TOPIC_MARKET, () => false, 2000);
    const ids = all
      .filter((e) => e.kind === 'trade' && e.exchange === 'binance')
      .map((e) => (e as TradeEvent).id);
    expect(ids).toEqual(['1', '2', '3']);
    expect(later.some((e) => e.kind === 'trade' && e.id === '3')).toBe(true);
    expect(feed.output).toMatch(/"exchange":"kucoin".*exchange request failed; the next poll tries again/);
  }, 90_000);

  it('counts requests by result and events by kind', async () => {
    const exchange = await new FakeExchange().start();
    cleanups.push(() => exchange.close());
    exchange.trades.binance.push({ id: 1, price: 70, amount: 0.5, time: Date.now() });
    exchange.failures.set('/binance/api/v3/aggTrades', [503]);
    exchange.down.add('kucoin');
    const cfg = parseMarketFeedConfig(feedConfig(exchange), 'test');
    const metrics = new MarketFeedMetrics(['binance', 'kucoin'], false);
    const published: MarketEvent[] = [];
    const pollers = cfg.venues.map(
      (v) =>
        new VenuePoller(
          venueClient(v),
          v,
          cfg.retry,
          async (e) => void published.push(...e),
          metrics,
          createLogger('silent'),
        ),
    );
    for (const p of pollers) await p.pollOnce();
    expect(
      await metricValue(metrics.requests, { exchange: 'binance', method: 'fetchTrades', result: 'retried' }),
    ).toBe(1);
    expect(
      await metricValue(metrics.requests, { exchange: 'binance', method: 'fetchTrades', result: 'ok' }),
    ).toBe(1);
    expect(
      await metricValue(metrics.requests, { exchange: 'kucoin', method: 'fetchTicker', result: 'failed' }),
    ).toBe(1);
    expect(await metricValue(metrics.events, { exchange: 'binance', kind: 'trade' })).toBe(1);
    expect(await metricValue(metrics.lastPoll, { exchange: 'binance' })).toBeGreaterThan(0);
    expect(await metricValue(metrics.lastPoll, { exchange: 'kucoin' })).toBe(0);
  });
});
