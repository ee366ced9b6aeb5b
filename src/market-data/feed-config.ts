/**
 * `keyguard market-feed` configuration (a JSON file, `KEYGUARD_MARKET_FEED_CONFIG`): which venues
 * and symbols to poll through ccxt, how often, and ccxt options. Validated once at start-up.
 */
import { readFileSync } from 'node:fs';
import ccxt from 'ccxt';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { describeIssues } from '../events/decode.js';

const ms = z.number().int().positive();

const venueSchema = z.object({
  /** The exchange's id in ccxt (binance, kucoin, okx, …); also the events' `exchange`. */
  exchange: z
    .string()
    .refine((id) => (ccxt.exchanges as string[]).includes(id), 'not an exchange ccxt knows'),
  symbols: z.array(z.string().regex(/^[^/\s]+\/[^/\s]+$/, 'expected BASE/QUOTE')).min(1),
  pollIntervalMs: ms.default(5000),
  /** Also poll recent public trades (they build the reference price; tickers give liquidity). */
  trades: z.boolean().default(true),
  /** ccxt client options (e.g. `{ "options": { "defaultType": "spot" } }`), passed as they are. */
  ccxt: z.record(z.string(), z.unknown()).default({}),
  /** Replace ccxt's API base URLs (a proxy, or a local test server): `{ "public": "http://…" }`. */
  apiUrls: z.record(z.string(), z.url()).optional(),
  /**
   * `load`: ccxt loads the markets from the exchange (production). `symbols`: built from the
   * symbols without a request (binance and kucoin ids only; for tests and restricted networks).
   */
  markets: z.enum(['load', 'symbols']).default('load'),
});

export const marketFeedConfigSchema = z.object({
  venues: z.array(venueSchema).min(1),
  retry: z
    .object({
      initialDelayMs: ms.default(500),
      maxDelayMs: ms.default(30_000),
      attempts: z.number().int().min(1).default(5),
    })
    .default({ initialDelayMs: 500, maxDelayMs: 30_000, attempts: 5 }),
});

export type MarketFeedConfig = z.infer<typeof marketFeedConfigSchema>;
export type VenueConfig = MarketFeedConfig['venues'][number];

export function parseMarketFeedConfig(raw: unknown, origin: string): MarketFeedConfig {
  const r = marketFeedConfigSchema.safeParse(raw);
  if (!r.success)
    throw new ConfigError(`invalid market feed config (${origin}): ${describeIssues(r.error, 10)}`);
  return r.data;
}

export function loadMarketFeedConfig(file: string): MarketFeedConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`cannot read market feed config ${file}: ${(err as Error).message}`);
  }
  const { $comment: _ignored, ...rest } = (raw ?? {}) as Record<string, unknown>;
  return parseMarketFeedConfig(rest, file);
}
