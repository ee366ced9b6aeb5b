import { describe, expect, it } from 'vitest';
import { loadDetectionConfig } from '../../src/config/detection.js';
import { newIlliquidPair } from '../../src/detectors/new-illiquid-pair.js';
import { offMarketFill } from '../../src/detectors/off-market-fill.js';
import { tradeBurst } from '../../src/detectors/trade-burst.js';
import type { AccountEvent } from '../../src/events/schema.js';
import type { MarketSnapshot } from '../../src/market/market-book.js';
import { type AccountState, applyAccountEvent, newAccountState } from '../../src/state/account-state.js';
import { DAY, fill, MIN, order, T0 } from '../helpers/events.js';

const cfg = loadDetectionConfig();

function fold(events: AccountEvent[], state?: AccountState): AccountState {
  const s = state ?? newAccountState(events[0]!.timestamp);
  for (const e of events) applyAccountEvent(s, e, cfg);
  return s;
}

const thin: MarketSnapshot = {
  exchange: 'binance',
  symbol: 'YOYOW/BTC',
  known: true,
  reference: {
    price: 1e-6,
    printsPerMinute: 1,
    dispersion: 0.002,
    prints: 60,
    minutes: 60,
    ageMs: 60_000,
    source: 'lagged_median_of_normal_minutes',
  },
  liquidity: { quoteVolume24h: 2, volumeSource: 'ticker', spread: 0.03 },
};
const liquid: MarketSnapshot = {
  ...thin,
  symbol: 'ETH/BTC',
  liquidity: { quoteVolume24h: 20_000, spread: 0.0002 },
};

/** An account with a week of quiet history in ETH/BTC: one order every 6 hours. */
function quietAccount(): AccountState {
  const history = Array.from({ length: 28 }, (_, i) =>
    order({ symbol: 'ETH/BTC', timestamp: T0 - 7 * DAY + i * 6 * 3_600_000 }),
  );
  return fold(history);
}

describe('trade_burst', () => {
  it('scores nothing on the first event of an account', () => {
    const e = order();
    expect(tradeBurst(e, fold([e]), cfg).score).toBe(0);
  });

  it('fires when a quiet account sends many orders in a minute', () => {
    const burst = Array.from({ length: 8 }, (_, i) =>
      order({ symbol: 'ETH/BTC', timestamp: T0 + i * 5_000 }),
    );
    const s = fold(burst, quietAccount());
    const signal = tradeBurst(burst[7]!, s, cfg);
    expect(signal.score).toBe(1);
    expect(signal.evidence.windowOrders).toBe(8);
    expect(signal.evidence.baselinePeak).toBe(cfg.burst.minBaseline);
  });

  it('waits for a previous day before judging an account rate (no baseline yet)', () => {
    const burst = Array.from({ length: 8 }, (_, i) =>
      order({ symbol: 'ETH/BTC', timestamp: T0 + i * 5_000 }),
    );
    const signal = tradeBurst(burst[7]!, fold(burst), cfg);
    // 8 orders vs a floor of 2 would score 1; what remains is the new-pair part, halved for an
    // account keyguard has just met.
    expect(signal.score).toBe(cfg.newPair.newAccountWeight);
    expect(signal.evidence.windowOrders).toBe(8);
  });

  it('does not fire for a bot whose previous days were just as busy', () => {
    const days = [3, 2, 1].flatMap((d) =>
      Array.from({ length: 10 }, (_, i) => order({ symbol: 'ETH/BTC', timestamp: T0 - d * DAY + i * 5_000 })),
    );
    const today = Array.from({ length: 10 }, (_, i) =>
      order({ symbol: 'ETH/BTC', timestamp: T0 + i * 5_000 }),
    );
    const s = fold([...days, ...today]);
    expect(tradeBurst(today[9]!, s, cfg).score).toBe(0);
  });

  it('counts an order and its fills once', () => {
    const o = order({ symbol: 'ETH/BTC', timestamp: T0 });
    const fills = [1, 2, 3].map((i) => fill({ symbol: 'ETH/BTC', order: o.id, timestamp: T0 + i * 100 }));
    const s = fold([o, ...fills], quietAccount());
    expect(tradeBurst(fills[2]!, s, cfg).evidence.windowOrders).toBe(1);
  });

  it('flags two orders seconds apart in a pair the account never traded', () => {
    const a = order({ timestamp: T0 });
    const b = order({ timestamp: T0 + 2_000 });
    const s = fold([a, b], quietAccount());
    const signal = tradeBurst(b, s, cfg);
    expect(signal.score).toBe(0.5);
    expect(signal.evidence.newPairGapSeconds).toBe(2);
  });

  it('keeps an out-of-order event in its own bucket and ignores one older than the window', () => {
    const s = quietAccount();
    fold(
      [order({ symbol: 'ETH/BTC', timestamp: T0 }), order({ symbol: 'ETH/BTC', timestamp: T0 - 10_000 })],
      s,
    );
    expect(tradeBurst(order({ symbol: 'ETH/BTC', timestamp: T0 }), s, cfg).evidence.windowOrders).toBe(2);
    fold([order({ symbol: 'ETH/BTC', timestamp: T0 - 5 * MIN })], s);
    expect(tradeBurst(order({ symbol: 'ETH/BTC', timestamp: T0 }), s, cfg).evidence.windowOrders).toBe(2);
  });
});

describe('new_illiquid_pair', () => {
  it('scores a first trade in a thin pair high, and a pair traded before not at all', () => {
    const s = quietAccount();
    const first = order({ timestamp: T0 });
    fold([first], s);
    expect(newIlliquidPair(first, s, thin, cfg).score).toBeGreaterThan(0.9);
    const later = order({ timestamp: T0 + cfg.newPair.windowMs + MIN });
    fold([later], s);
    expect(newIlliquidPair(later, s, thin, cfg).score).toBe(0);
  });

  it('scores a first trade in a liquid pair near zero', () => {
    const s = quietAccount();
    const e = order({ symbol: 'BNB/BTC', timestamp: T0 });
    fold([e], s);
    expect(newIlliquidPair(e, s, { ...liquid, symbol: 'BNB/BTC' }, cfg).score).toBeLessThan(0.05);
  });

  it('uses unknownMarketScore when keyguard knows nothing of the market', () => {
    const s = quietAccount();
    const e = order({ symbol: 'NEW/BTC', timestamp: T0 });
    fold([e], s);
    const empty: MarketSnapshot = { exchange: 'binance', symbol: 'NEW/BTC', known: false, liquidity: {} };
    expect(newIlliquidPair(e, s, empty, cfg).score).toBe(cfg.newPair.unknownMarketScore);
  });

  it('weights down an account keyguard has just met (every pair is new to it)', () => {
    const e = order({ timestamp: T0 });
    const s = fold([e]);
    const signal = newIlliquidPair(e, s, thin, cfg);
    expect(signal.score).toBeCloseTo(cfg.newPair.newAccountWeight, 2);
    expect(signal.evidence.accountHistoryBefore).toBe(false);
  });
});

describe('off_market_fill', () => {
  it('says the reference is not yet known and scores 0', () => {
    const { reference: _, ...noRef } = thin;
    const signal = offMarketFill(fill(), noRef, cfg)!;
    expect(signal.score).toBe(0);
    expect(signal.evidence.summary).toMatch(/not yet known/);
  });

  it('scores a buy far above the reference and estimates the value moved', () => {
    const signal = offMarketFill(fill({ price: 2e-6, amount: 1000 }), thin, cfg)!;
    expect(signal.score).toBeGreaterThan(0.95);
    expect(signal.evidence.deviationPct).toBe(100);
    expect(signal.evidence.valueMoved).toBeCloseTo(0.001, 9);
  });

  it('scores a sell far below the reference, and not a buy below it', () => {
    expect(offMarketFill(fill({ side: 'sell', price: 0.7e-6 }), thin, cfg)!.score).toBeGreaterThan(0.8);
    expect(offMarketFill(fill({ side: 'buy', price: 0.7e-6 }), thin, cfg)!.score).toBe(0);
  });

  it('tolerates the pair own noise, up to maxTolerance', () => {
    const noisy: MarketSnapshot = { ...thin, reference: { ...thin.reference!, dispersion: 0.01 } };
    expect(offMarketFill(fill({ price: 1.035e-6 }), thin, cfg)!.score).toBeGreaterThan(0);
    expect(offMarketFill(fill({ price: 1.035e-6 }), noisy, cfg)!.score).toBe(0);
    const wild: MarketSnapshot = { ...thin, reference: { ...thin.reference!, dispersion: 0.5 } };
    expect(offMarketFill(fill({ price: 1.5e-6 }), wild, cfg)!.score).toBeGreaterThan(0.8);
  });

  it('scores a clear deviation as decisive when it is also far above the live market (last print)', () => {
    const calm: MarketSnapshot = { ...thin, lastPrint: { price: 1.0e-6, ageMs: 5_000 } };
    const pumped: MarketSnapshot = { ...thin, lastPrint: { price: 1.3e-6, ageMs: 5_000 } };
    const e = order({ price: 1.25e-6, status: 'open' });
    expect(offMarketFill(e, calm, cfg)!.score).toBe(0.96);
    expect(offMarketFill(e, calm, cfg)!.evidence.lastPrintPremiumPct).toBe(25);
    // Paying what the (pumped) market pays: off the reference, but not decisive on its own.
    expect(offMarketFill(e, pumped, cfg)!.score).toBeLessThan(0.9);
  });

  it('judges a limit order by its price, and ignores market and canceled orders', () => {
    expect(offMarketFill(order({ price: 2e-6, status: 'open' }), thin, cfg)!.evidence.basis).toBe(
      'order_limit_price',
    );
    expect(offMarketFill(order({ type: 'market', price: undefined }), thin, cfg)).toBeUndefined();
    expect(offMarketFill(order({ price: 2e-6, status: 'canceled' }), thin, cfg)).toBeUndefined();
  });
});
