/**
 * `keyguard market-feed` configuration (a JSON file, `KEYGUARD_MARKET_FEED_CONFIG`): which venues
 * and symbols to poll through ccxt, how often, and ccxt options. Validated once at start-up.
 */
import { z } from 'zod';
import { readJsonConfig } from '../config/json-file.js';
import { ConfigError } from '../errors.js';
import { describeIssues } from '../events/decode.js';
import {
  ccxtClientFields,
  ccxtExchangeId,
  requestRetrySchema,
  unifiedSymbols,
} from '../ingest/ccxt-config.js';

const ms = z.number().int().positive();

const venueSchema = z.object({
  exchange: ccxtExchangeId,
  symbols: unifiedSymbols,
  pollIntervalMs: ms.default(5000),
  /** Also poll recent public trades (they build the reference price; tickers give liquidity). */
  trades: z.boolean().default(true),
  ...ccxtClientFields,
});

export const marketFeedConfigSchema = z.object({
  venues: z.array(venueSchema).min(1),
  retry: requestRetrySchema,
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
  return parseMarketFeedConfig(readJsonConfig(file, 'market feed config'), file);
}
