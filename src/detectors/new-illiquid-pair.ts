/**
 * new_illiquid_pair: the account trades a pair it had never traded (first trade within the last
 * `newPair.windowMs`), weighted by how thin that pair is. Accounts keyguard has no history for are
 * weighted down (`newAccountWeight`): every pair is new to an account we have just met.
 */
import type { DetectionConfig } from '../config/detection.js';
import type { AccountEvent, Signal } from '../events/schema.js';
import { illiquidity } from '../market/illiquidity.js';
import type { MarketSnapshot } from '../market/market-book.js';
import { round, sig } from '../scoring/scale.js';
import type { AccountState } from '../state/account-state.js';

export function newIlliquidPair(
  event: AccountEvent,
  account: AccountState,
  market: MarketSnapshot,
  cfg: DetectionConfig,
): Signal {
  const sym = account.syms[event.symbol];
  const at = event.timestamp;
  if (!sym || at - sym.f > cfg.newPair.windowMs) {
    return {
      detector: 'new_illiquid_pair',
      score: 0,
      evidence: { summary: `${event.symbol} traded before` },
    };
  }
  const knownBefore = account.act.f < sym.f;
  const weight = (knownBefore ? 1 : cfg.newPair.newAccountWeight) * (account.capped ? 0.5 : 1);
  const illiq = illiquidity(market, cfg);
  const { quoteVolume24h, spread, printsPerHour, volumeSource } = market.liquidity;
  const volumeText =
    quoteVolume24h === undefined
      ? 'no market data'
      : `24h volume ${sig(quoteVolume24h, 4)} ${illiq.quote} (liquid ≥ ${illiq.liquidQuoteVolume24h})`;
  return {
    detector: 'new_illiquid_pair',
    score: round(illiq.score * weight),
    evidence: {
      summary: `first trade in ${event.symbol} ${round((at - sym.f) / 1000, 1)}s ago; ${volumeText}`,
      firstTradeAgoSeconds: round((at - sym.f) / 1000, 1),
      illiquidity: round(illiq.score),
      accountHistoryBefore: knownBefore,
      ...(quoteVolume24h !== undefined
        ? { quoteVolume24h: sig(quoteVolume24h, 4), volumeSource: volumeSource! }
        : {}),
      liquidQuoteVolume24h: illiq.liquidQuoteVolume24h,
      ...(spread !== undefined ? { spreadPct: round(spread * 100, 3) } : {}),
      ...(printsPerHour !== undefined ? { printsPerHour: round(printsPerHour, 1) } : {}),
    },
  };
}
