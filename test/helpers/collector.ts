import type { Exchange } from 'ccxt';
import { type CollectConfig, collectConfigSchema } from '../../src/collector/collect-config.js';
import { venueClient } from '../../src/ingest/ccxt-client.js';
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
