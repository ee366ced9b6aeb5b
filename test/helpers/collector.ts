import { type CollectConfig, collectConfigSchema } from '../../src/collector/collect-config.js';
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
