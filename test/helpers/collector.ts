import type { Exchange } from 'ccxt';
import type { Redis } from 'ioredis';
import { type CollectConfig, collectConfigSchema } from '../../src/collector/collect-config.js';
import { CursorStore } from '../../src/collector/cursor-store.js';
import { KeyCollector } from '../../src/collector/key-collector.js';
import type { PollPublisher } from '../../src/collector/poll-publisher.js';
import type { MarketEvent } from '../../src/events/schema.js';
import { venueClient } from '../../src/ingest/ccxt-client.js';
import type { Logger } from '../../src/logger.js';
import { parseMarketFeedConfig } from '../../src/market-data/feed-config.js';
import { VenuePoller } from '../../src/market-data/venue-poller.js';
import { CollectorMetrics } from '../../src/observability/collector-metrics.js';
import { MarketFeedMetrics } from '../../src/observability/market-feed-metrics.js';
import type { FakeExchange } from './fake-exchange.js';

/** One connected Binance key on the fake exchange. */
export function parseCollectConfigForTest(exchange: FakeExchange): CollectConfig {
  return collectConfigSchema.parse({
    keys: [
      {
        exchange: 'binance',
        accountId: 'acct-7',
        apiKeyId: 'key-7',
        credentialsEnv: 'UNUSED',
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
    retry: { initialDelayMs: 20, maxDelayMs: 50, attempts: 2 },
  });
}

/** A ccxt Binance client signed with test credentials, pointed at the fake exchange. */
export function fakeBinanceClient(exchange: FakeExchange, symbols: readonly string[]): Exchange {
  return venueClient(
    {
      exchange: 'binance',
      symbols,
      ccxt: {},
      markets: 'symbols',
      apiUrls: { public: exchange.url('binance'), private: exchange.url('binance') },
    },
    { apiKey: 'k', secret: 's' },
  );
}

/** The market feed's poller for LTC/USDT on the fake exchange's Binance, with its metrics (process metrics included). */
export function fakeBinancePoller(
  exchange: FakeExchange,
  send: (events: MarketEvent[]) => Promise<void>,
  log: Logger,
): { poller: VenuePoller; metrics: MarketFeedMetrics } {
  const cfg = parseMarketFeedConfig(
    {
      venues: [
        {
          exchange: 'binance',
          symbols: ['LTC/USDT'],
          markets: 'symbols',
          apiUrls: { public: exchange.url('binance') },
        },
      ],
      retry: { initialDelayMs: 20, maxDelayMs: 50, attempts: 2 },
    },
    'test',
  );
  const metrics = new MarketFeedMetrics(['binance']);
  const venue = cfg.venues[0]!;
  return { poller: new VenuePoller(venueClient(venue), venue, cfg.retry, send, metrics, log), metrics };
}

/** The collector for the fake exchange's one connected Binance key, its cursors under `prefix`, with its metrics. */
export function fakeBinanceCollector(
  exchange: FakeExchange,
  redis: Redis,
  prefix: string,
  publisher: PollPublisher,
  log: Logger,
): { collector: KeyCollector; metrics: CollectorMetrics } {
  const cfg = parseCollectConfigForTest(exchange);
  const key = cfg.keys[0]!;
  const metrics = new CollectorMetrics(['binance']);
  const client = fakeBinanceClient(exchange, key.symbols);
  const cursors = new CursorStore(redis, prefix);
  return {
    collector: new KeyCollector(client, key, cursors, publisher, metrics, cfg.retry, log, ['k', 's']),
    metrics,
  };
}
