import type { DetectionConfig } from '../config/detection.js';
import { quoteOf } from '../events/symbol.js';
import { ramp } from '../scoring/scale.js';
import type { MarketSnapshot } from './market-book.js';

export interface Illiquidity {
  /** 0 = liquid, 1 = as thin as markets get. */
  score: number;
  liquidQuoteVolume24h: number;
  quote: string;
}

/**
 * How thin a market is: 24 h quote volume against what counts as liquid for its quote currency
 * (log scale: `illiquidRatio` times less is fully illiquid), or a wide spread, whichever is worse.
 * A market keyguard knows nothing about scores `unknownMarketScore`.
 */
export function illiquidity(market: MarketSnapshot, cfg: DetectionConfig): Illiquidity {
  const quote = quoteOf(market.symbol);
  const table = cfg.liquidity.liquidQuoteVolume24h;
  const liquid = table[quote] ?? table.default!;
  if (!market.known) return { score: cfg.newPair.unknownMarketScore, liquidQuoteVolume24h: liquid, quote };
  const { quoteVolume24h, spread } = market.liquidity;
  let score = 0;
  if (quoteVolume24h !== undefined) {
    const ratio = liquid / Math.max(quoteVolume24h, 1e-12);
    score = ramp(Math.log10(ratio), 0, Math.log10(cfg.liquidity.illiquidRatio));
  }
  if (spread !== undefined)
    score = Math.max(score, ramp(spread, cfg.liquidity.tightSpread, cfg.liquidity.wideSpread));
  return { score, liquidQuoteVolume24h: liquid, quote };
}
