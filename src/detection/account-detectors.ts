/**
 * The per-account detectors the engine runs on every order and fill, as a table: each is a pure
 * function of (event, account baseline, market snapshot, config) that gives a signal or nothing.
 * Adding a detector is a row here (and its weight and rules in config/detection.json).
 */
import type { DetectionConfig } from '../config/detection.js';
import { aboveLiveMarket } from '../detectors/above-live-market.js';
import { fundingSell } from '../detectors/funding-sell.js';
import { keyContext } from '../detectors/key-context.js';
import { newIlliquidPair } from '../detectors/new-illiquid-pair.js';
import { offMarketFill } from '../detectors/off-market-fill.js';
import { orderClimb } from '../detectors/order-climb.js';
import { tradeBurst } from '../detectors/trade-burst.js';
import { unusualSize } from '../detectors/unusual-size.js';
import type { AccountEvent, DetectorName, Signal } from '../events/schema.js';
import type { MarketSnapshot } from '../market/market-book.js';
import type { AccountState } from '../state/account-state.js';

export interface AccountDetector {
  name: DetectorName;
  score(
    event: AccountEvent,
    account: AccountState,
    market: MarketSnapshot,
    cfg: DetectionConfig,
  ): Signal | undefined;
}

export const ACCOUNT_DETECTORS: readonly AccountDetector[] = [
  { name: 'trade_burst', score: (e, a, _m, cfg) => tradeBurst(e, a, cfg) },
  { name: 'new_illiquid_pair', score: (e, a, m, cfg) => newIlliquidPair(e, a, m, cfg) },
  { name: 'off_market_fill', score: (e, _a, m, cfg) => offMarketFill(e, m, cfg) },
  { name: 'key_context', score: (e, a, _m, cfg) => keyContext(e, a, cfg) },
  { name: 'above_live_market', score: (e, a, m, cfg) => aboveLiveMarket(e, a, m, cfg) },
  { name: 'unusual_size', score: (e, a, _m, cfg) => unusualSize(e, a, cfg) },
  { name: 'order_climb', score: (e, a, _m, cfg) => orderClimb(e, a, cfg) },
  { name: 'funding_sell', score: (e, a, _m, cfg) => fundingSell(e, a, cfg) },
];

/** A detector that threw: the others still score, and the failure is reported (dead letter, metric). */
export interface DetectorFailure {
  detector: DetectorName;
  error: Error;
}

/**
 * Runs every detector of the table, each under its own guard. Signals below `reportMinScore` are
 * left out. Pure given its arguments.
 */
export function scoreAccountEvent(
  event: AccountEvent,
  account: AccountState,
  market: MarketSnapshot,
  cfg: DetectionConfig,
  detectors: readonly AccountDetector[] = ACCOUNT_DETECTORS,
  failures?: DetectorFailure[],
): Signal[] {
  const signals: Signal[] = [];
  for (const d of detectors) {
    let signal: Signal | undefined;
    try {
      signal = d.score(event, account, market, cfg);
    } catch (err) {
      failures?.push({ detector: d.name, error: err as Error });
      continue;
    }
    if (signal && signal.score >= cfg.fusion.reportMinScore) signals.push(signal);
  }
  return signals;
}
