import { describe, expect, it } from 'vitest';
import { loadDetectionConfig } from '../../src/config/detection.js';
import { firstBuyObservation } from '../../src/detection/first-buy.js';
import { aboveLiveMarket } from '../../src/detectors/above-live-market.js';
import { fundingSell } from '../../src/detectors/funding-sell.js';
import { keyContext } from '../../src/detectors/key-context.js';
import { newIlliquidPair } from '../../src/detectors/new-illiquid-pair.js';
import { offMarketFill } from '../../src/detectors/off-market-fill.js';
import { orderClimb } from '../../src/detectors/order-climb.js';
import { tradeBurst } from '../../src/detectors/trade-burst.js';
import { unusualSize } from '../../src/detectors/unusual-size.js';
import type { AccountEvent, FillEvent } from '../../src/events/schema.js';
import { MarketBook, type MarketSnapshot } from '../../src/market/market-book.js';
import {
  type AccountState,
  applyAccountEvent,
  newAccountState,
  noteOwnPrint,
  noteQuietPremium,
  ordersBefore,
} from '../../src/state/account-state.js';
import { DAY, fill, MIN, order, print, T0 } from '../helpers/events.js';

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
    // 8 orders in 8 pairs vs a floor of 2 would score 1: an account keyguard has just met has no rate to exceed.
    const spread = Array.from({ length: 8 }, (_, i) =>
      order({ symbol: `C${i}/BTC`, timestamp: T0 + i * 7_000 }),
    );
    const signal = tradeBurst(spread[7]!, fold(spread), cfg);
    expect(signal.score).toBe(0);
    expect(signal.evidence.windowOrders).toBe(8);
  });

  it("counts a just-met account's orders into one new pair, and weights down its two quick orders", () => {
    // Every pair is new to it: two orders seconds apart are any bot starting up (halved) …
    const two = [order({ timestamp: T0 }), order({ timestamp: T0 + 2_000 })];
    expect(tradeBurst(two[1]!, fold(two), cfg).score).toBe(
      cfg.newPair.newAccountWeight * cfg.burst.fastGapScore,
    );
    // … but eight orders into one pair within the window are a count, known account or not.
    const burst = Array.from({ length: 8 }, (_, i) =>
      order({ symbol: 'ETH/BTC', timestamp: T0 + i * 5_000 }),
    );
    const signal = tradeBurst(burst[7]!, fold(burst), cfg);
    expect(signal.score).toBe(1);
    expect(signal.evidence.newPairOrders).toBe(8);
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
    const e = fill({ price: 1.25e-6 });
    expect(offMarketFill(e, calm, cfg)!.score).toBe(0.96);
    expect(offMarketFill(e, calm, cfg)!.evidence.livePremiumPct).toBe(25);
    // Paying what the (pumped) market pays: off the reference, but not decisive on its own.
    expect(offMarketFill(e, pumped, cfg)!.score).toBeLessThan(0.9);
    // The fill's own print is the last print: the others' prints are the live market.
    const own: MarketSnapshot = {
      ...pumped,
      live: { high: 1.0e-6, low: 0.99e-6, prints: 5, spanMs: 60_000 },
    };
    expect(offMarketFill(e, own, cfg)!.score).toBe(0.96);
  });

  it('judges the price paid, not a limit offered: a pump bot caps its buys far above the market', () => {
    expect(offMarketFill(fill({ price: 2e-6 }), thin, cfg)!.evidence.basis).toBe('fill');
    expect(offMarketFill(order({ price: 2e-6, status: 'open' }), thin, cfg)).toBeUndefined();
    expect(offMarketFill(order({ price: 2e-6, status: 'closed' }), thin, cfg)).toBeUndefined();
    expect(offMarketFill(order({ type: 'market', price: undefined }), thin, cfg)).toBeUndefined();
  });
});

describe('above_live_market', () => {
  const fresh = newAccountState(T0);
  const live = (high: number, low = high * 0.98): MarketSnapshot => ({
    ...thin,
    live: { high, low, prints: 40, spanMs: 60_000 },
  });

  it('scores a buy above what everyone else paid in the last minute, not one at the crowd price', () => {
    const crowd = aboveLiveMarket(fill({ price: 2.02e-6 }), fresh, live(2e-6), cfg);
    expect(crowd).toBeUndefined();
    const above = aboveLiveMarket(fill({ price: 2.6e-6 }), fresh, live(2e-6), cfg)!;
    expect(above.score).toBe(1);
    expect(above.evidence.livePremiumPct).toBe(30);
  });

  it('scores a sell below the others, and says nothing without a live market', () => {
    expect(
      aboveLiveMarket(fill({ side: 'sell', price: 0.7e-6 }), fresh, live(0.96e-6, 0.95e-6), cfg)!.score,
    ).toBe(1);
    expect(aboveLiveMarket(fill({ price: 9e-6 }), fresh, thin, cfg)).toBeUndefined();
  });

  it('judges only a price beyond the reference: paying above a crowd that dumped below it is not the pattern', () => {
    // The reference is 1e-6; the crowd now sells at 0.5e-6; a buy at 0.9e-6 is above them, not above the market.
    expect(aboveLiveMarket(fill({ price: 0.9e-6 }), fresh, live(0.5e-6), cfg)).toBeUndefined();
    expect(aboveLiveMarket(fill({ price: 1.3e-6 }), fresh, live(0.5e-6), cfg)!.score).toBe(1);
  });
});

describe('above_live_market: a buy above a quiet market is held', () => {
  const market = (high: number, spanMs: number): MarketSnapshot => ({
    ...thin,
    live: { high, low: high * 0.98, prints: 5, spanMs },
  });
  const quiet = (high: number) => market(high, 20 * MIN);
  const crowd = (high: number) => market(high, 10_000);
  /** The account's state after `first` (scored and noted against `live`) and then `later`. */
  function stateAfter(first: AccountEvent, live: MarketSnapshot, later: AccountEvent): AccountState {
    const s = fold([first]);
    noteQuietPremium(s, first, aboveLiveMarket(first, s, live, cfg), live.live, cfg);
    return fold([later], s);
  }

  it("stands on the account's later buys in the new pair for quietHoldMs, once the victims' fills are the live market", () => {
    const first = fill({ price: 1.3e-6 });
    const later = fill({ price: 1.3e-6, timestamp: T0 + 30_000 });
    const held = aboveLiveMarket(later, stateAfter(first, quiet(1e-6), later), quiet(1.3e-6), cfg)!;
    expect(held.score).toBe(1);
    expect(held.evidence.heldFromSecondsAgo).toBe(30);
    expect(held.evidence.livePremiumPct).toBe(30);
    const late = fill({ price: 1.3e-6, timestamp: T0 + cfg.liveMarket.quietHoldMs + 1_000 });
    expect(aboveLiveMarket(late, stateAfter(first, quiet(1e-6), late), quiet(1.3e-6), cfg)).toBeUndefined();
  });

  it("holds nothing above a crowd's prints (a pump), in another pair, or on a sell", () => {
    const first = fill({ price: 1.3e-6 });
    const later = fill({ price: 1.3e-6, timestamp: T0 + 30_000 });
    expect(aboveLiveMarket(later, stateAfter(first, crowd(1e-6), later), crowd(1.3e-6), cfg)).toBeUndefined();
    const elsewhere = fill({ symbol: 'NXS/BTC', price: 1.3e-6, timestamp: T0 + 30_000 });
    expect(
      aboveLiveMarket(elsewhere, stateAfter(first, quiet(1e-6), elsewhere), quiet(1.3e-6), cfg),
    ).toBeUndefined();
    // A sell below the reference, at the live market: the earlier buy's premium is not its evidence.
    const sell = fill({ side: 'sell', price: 0.9e-6, timestamp: T0 + 30_000 });
    expect(aboveLiveMarket(sell, stateAfter(first, quiet(1e-6), sell), quiet(0.9e-6), cfg)).toBeUndefined();
  });
  it("marks a first buy above a quiet market as such for the campaigns, not one in a crowd's prints", () => {
    const first = fill({ price: 1.3e-6 });
    const obs = (live: MarketSnapshot) => firstBuyObservation(first, fold([first]), live, 'revoke_key', cfg)!;
    expect(obs(quiet(1e-6))).toMatchObject({ livePremium: 0.3, quietMarket: true });
    expect(obs(crowd(1e-6)).livePremium).toBe(0.3);
    expect(obs(crowd(1e-6)).quietMarket).toBeUndefined();
  });
});

describe('live market (market book)', () => {
  it("leaves the account's own prints out, and falls back to the latest prints in a quiet pair", () => {
    const book = new MarketBook('binance', 'YOYOW/BTC', cfg);
    // A quiet pair: one print every 5 minutes at 1e-6, then the account's own fills at 1.5e-6.
    for (let i = 0; i < 6; i++)
      book.applyTrade(print({ id: `q${i}`, timestamp: T0 - (6 - i) * 5 * MIN, price: 1e-6 }));
    book.applyTrade(print({ id: 'own-1', timestamp: T0 - 1_000, price: 1.5e-6 }));
    book.applyTrade(print({ id: 'own-2', timestamp: T0, price: 1.5e-6 }));
    const withOwn = book.live(T0, [])!;
    expect(withOwn.high).toBe(1.5e-6);
    const others = book.live(T0, ['own-1', 'own-2'])!;
    expect(others.high).toBe(1e-6);
    expect(others.prints).toBe(cfg.liveMarket.minPrints);
  });

  it('reads at most the latest maxPrints prints of a flooded window (bounded work per event)', () => {
    const book = new MarketBook('binance', 'YOYOW/BTC', cfg);
    const n = cfg.liveMarket.maxPrints * 3;
    // 3× maxPrints prints within the last 10 s: the older two thirds at 1e-6, the latest third at 2e-6.
    for (let i = 0; i < n; i++)
      book.applyTrade(
        print({
          id: `p${i}`,
          timestamp: T0 - 9_000 + Math.floor((i * 9_000) / n),
          price: i < (2 * n) / 3 ? 1e-6 : 2e-6,
        }),
      );
    const live = book.live(T0, [])!;
    expect(live.prints).toBe(cfg.liveMarket.maxPrints);
    expect([live.low, live.high]).toEqual([2e-6, 2e-6]);
  });

  it("leaves out the account's own prints beyond the market in a pair it already trades, while it keeps trading it", () => {
    // The account traded YOYOW/BTC a week ago; the crowd prints at 1e-6 every 2 s.
    const s = fold([
      order({ id: 'old', timestamp: T0 - 7 * DAY }),
      fill({ order: 'old', timestamp: T0 - 7 * DAY }),
    ]);
    const book = new MarketBook('binance', 'YOYOW/BTC', cfg);
    for (let i = 0; i < 10; i++) book.applyTrade(print({ timestamp: T0 - 20_000 + i * 2_000, price: 1e-6 }));
    // A drain's first order: three fills at +50 %, each its own print.
    const first = [1, 2, 3].map((i) =>
      fill({ id: `own-${i}`, order: 'drain-1', timestamp: T0 + i * 100, price: 1.5e-6 }),
    );
    for (const f of first) {
      fold([f], s);
      noteOwnPrint(s, f, 1e-6, cfg.offMarket.minDeviation, cfg);
      book.applyTrade(print({ id: f.id, timestamp: f.timestamp, price: f.price }));
    }
    // A fill at the market is not kept (a bot's fills are not).
    const atMarket = fill({ id: 'at-market', order: 'drain-1', timestamp: T0 + 400, price: 1.01e-6 });
    fold([atMarket], s);
    noteOwnPrint(s, atMarket, 1e-6, cfg.offMarket.minDeviation, cfg);
    expect(s.syms['YOYOW/BTC']!.fi).toEqual(['own-1', 'own-2', 'own-3']);
    // The next order, seconds later: the live market is the crowd's, not the drain's first prints.
    fold([order({ id: 'drain-2', timestamp: T0 + 3_000, price: 1.5e-6 })], s);
    const at = T0 + 3_100;
    expect(book.live(at, [])!.high).toBe(1.5e-6);
    expect(book.live(at, s.syms['YOYOW/BTC']!.fi!)!.high).toBe(1e-6);
    // An order after the live market's horizon (liveMarket.maxAgeMs) starts afresh.
    fold([order({ id: 'later', timestamp: at + cfg.liveMarket.maxAgeMs + 1_000 })], s);
    expect(s.syms['YOYOW/BTC']!.fi).toBeUndefined();
  });
});

describe('unusual_size', () => {
  /** Orders of 0.01 BTC (200 USD) in ETH/BTC on previous days. */
  function habit(): AccountState {
    const events: AccountEvent[] = [];
    for (let d = 3; d >= 1; d--) {
      const o = order({ symbol: 'ETH/BTC', price: 0.07, amount: 0.01 / 0.07, timestamp: T0 - d * DAY });
      events.push(
        o,
        fill({
          symbol: 'ETH/BTC',
          order: o.id,
          price: 0.07,
          amount: 0.01 / 0.07,
          timestamp: o.timestamp + 100,
        }),
      );
    }
    return fold(events);
  }

  it("scores a new pair's spend far above the account's largest order, not its usual size", () => {
    const usual = order({ price: 1e-6, amount: 0.012 / 1e-6 });
    expect(unusualSize(usual, fold([usual], habit()), cfg)).toBeUndefined();
    const drain = order({ price: 1e-6, amount: 0.5 / 1e-6 });
    const s = unusualSize(drain, fold([drain], habit()), cfg)!;
    expect(s.score).toBe(1);
    expect(s.evidence.usualLargestOrderUsd).toBe(200);
  });

  it('adds up fills in the new pair net of sells, and waits for a previous day (warm-up)', () => {
    const state = habit();
    const buys = Array.from({ length: 10 }, (_, i) =>
      fill({ price: 1e-6, amount: 0.01 / 1e-6, timestamp: T0 + i * 1000 }),
    );
    fold(buys, state);
    expect(unusualSize(buys[9]!, state, cfg)!.score).toBeGreaterThan(0.4);
    const sells = Array.from({ length: 10 }, (_, i) =>
      fill({ side: 'sell', price: 1e-6, amount: 0.01 / 1e-6, timestamp: T0 + 10_000 + i * 1000 }),
    );
    fold(sells, state);
    const next = fill({ price: 1e-6, amount: 0.01 / 1e-6, timestamp: T0 + 20_000 });
    expect(unusualSize(next, fold([next], state), cfg)).toBeUndefined();
    const fresh = fill({ price: 1e-6, amount: 1 / 1e-6 });
    expect(unusualSize(fresh, fold([fresh]), cfg)).toBeUndefined();
  });

  it('reads one order in a pair the account already trades against the same habit, not its spend there', () => {
    // ETH/BTC is the habit's own pair: its usual orders are no anomaly, one order 40× them is.
    const usual = order({ symbol: 'ETH/BTC', price: 0.07, amount: 0.012 / 0.07 });
    expect(unusualSize(usual, fold([usual], habit()), cfg)).toBeUndefined();
    const drain = order({ symbol: 'ETH/BTC', price: 0.07, amount: 0.4 / 0.07 });
    const placed = unusualSize(drain, fold([drain], habit()), cfg)!;
    expect(placed.score).toBe(1);
    expect(placed.evidence.orderUsd).toBe(8000);
    expect(placed.evidence.summary).toContain('in one order');
    // A market order has no value until it fills; its fills add up to the order's.
    const { price: _limit, ...market } = order({ symbol: 'ETH/BTC', type: 'market', amount: 0.4 / 0.07 });
    const state = fold([market], habit());
    expect(unusualSize(market, state, cfg)).toBeUndefined();
    const parts = [0, 1].map((i) =>
      fill({ symbol: 'ETH/BTC', order: market.id, price: 0.07, amount: 0.2 / 0.07, timestamp: T0 + i }),
    );
    fold(parts, state);
    expect(unusualSize(parts[1]!, state, cfg)!.evidence.orderUsd).toBe(8000);
    // Many usual orders in the pair within the hour are each usual: no spend adds up in a known pair.
    const s = habit();
    const many = Array.from({ length: 10 }, (_, i) => {
      const o = order({ symbol: 'ETH/BTC', price: 0.07, amount: 0.01 / 0.07, timestamp: T0 + i * MIN });
      return [
        o,
        fill({
          symbol: 'ETH/BTC',
          order: o.id,
          price: 0.07,
          amount: 0.01 / 0.07,
          timestamp: o.timestamp + 1,
        }),
      ];
    }).flat();
    fold(many, s);
    expect(unusualSize(many[19]!, s, cfg)).toBeUndefined();
    // A sell is not a buy.
    const sell = order({ symbol: 'ETH/BTC', side: 'sell', price: 0.07, amount: 0.4 / 0.07 });
    expect(unusualSize(sell, fold([sell], habit()), cfg)).toBeUndefined();
  });

  it('tells the campaigns how many orders outside the pair the size was read against (how well the habit is known)', () => {
    const drain = fill({ price: 1e-6, amount: 0.5 / 1e-6 });
    const obs = firstBuyObservation(drain, fold([drain], habit()), thin, 'none', cfg)!;
    expect(obs).toMatchObject({ sizeRatio: 50, habitOrders: 3 });
    // A swap's sells minutes before, on the day of the buy, are not part of the habit.
    const swap = [1, 2].map((i) => order({ symbol: 'ETH/BTC', side: 'sell', timestamp: T0 - i * MIN }));
    expect(ordersBefore(fold(swap, habit()), T0)).toBe(3);
    expect(firstBuyObservation(drain, fold([...swap, drain], habit()), thin, 'none', cfg)!.habitOrders).toBe(
      3,
    );
    // The next day they are.
    expect(ordersBefore(fold(swap, habit()), T0 + DAY)).toBe(5);
    // A state written before the count was kept: its orders so far came before.
    const old = habit();
    delete old.od;
    expect(ordersBefore(fold([drain], old), T0)).toBe(3);
    // No previous day: no size, and so no habit to report.
    const fresh = fill({ price: 1e-6, amount: 0.5 / 1e-6 });
    const unknown = firstBuyObservation(fresh, fold([fresh]), thin, 'none', cfg)!;
    expect(unknown.sizeRatio).toBeUndefined();
    expect(unknown.habitOrders).toBeUndefined();
  });
});

describe('order_climb', () => {
  it("scores one buy order's fills climbing from the book's ask to an ask far above it, in either arrival order", () => {
    // The victim's order lifts a maker's ask at the market, then the attacker's at +150 %.
    const swept = fill({ order: 'victim-o1', price: 1e-6, timestamp: T0 });
    const attacker = fill({ order: 'victim-o1', price: 2.5e-6, timestamp: T0 + 200 });
    const state = fold([swept]);
    expect(orderClimb(swept, state, cfg)).toBeUndefined();
    const s = orderClimb(attacker, fold([attacker], state), cfg)!;
    expect(s.score).toBe(1);
    expect(s.evidence.climbPct).toBe(150);
    expect(s.evidence.lowestFillPrice).toBe(1e-6);
    // The same fills the other way round (a feed that reorders them): the same reading at the last one.
    const reversed = fold([attacker, swept]);
    expect(orderClimb(swept, reversed, cfg)!.score).toBe(1);
    // Folding a fill twice (a redelivery) reads the same.
    expect(orderClimb(attacker, fold([attacker], reversed), cfg)!.score).toBe(1);
  });

  it('leaves alone the climbs of real pump orders (≤ 17 %), sells, and fills of different orders', () => {
    const a = fill({ order: 'pump-o1', price: 1e-6, timestamp: T0 });
    const b = fill({ order: 'pump-o1', price: 1.17e-6, timestamp: T0 + 1 });
    expect(orderClimb(b, fold([a, b]), cfg)).toBeUndefined();
    const c = fill({ order: 'pump-o2', price: 3e-6, timestamp: T0 + 2 });
    expect(orderClimb(c, fold([a, b, c]), cfg)).toBeUndefined();
    const s1 = fill({ order: 'dump-o1', side: 'sell', price: 3e-6, timestamp: T0 });
    const s2 = fill({ order: 'dump-o1', side: 'sell', price: 1e-6, timestamp: T0 + 1 });
    expect(orderClimb(s2, fold([s1, s2]), cfg)).toBeUndefined();
    // Scores half way at a 30 % climb.
    const d = fill({ order: 'pump-o3', price: 1.3e-6, timestamp: T0 + 3 });
    const e = fill({ order: 'pump-o3', price: 1e-6, timestamp: T0 + 4 });
    expect(orderClimb(e, fold([d, e]), cfg)!.score).toBeCloseTo(0.5, 3);
  });
});

describe('funding_sell', () => {
  /** A market sell of 1 BTC worth of ETH, `before` ms before T0. */
  const sale = (before: number, over: Partial<FillEvent> = {}) =>
    fill({
      symbol: 'ETH/BTC',
      side: 'sell',
      price: 0.07,
      amount: 1 / 0.07,
      takerOrMaker: 'taker',
      timestamp: T0 - before,
      ...over,
    });

  it('scores a new pair bought with what a sale at the market fetched minutes before, even for an account just met', () => {
    const buy = fill({ price: 1e-6, amount: 0.8 / 1e-6 });
    const s = fundingSell(buy, fold([sale(60_000), buy]), cfg)!;
    expect(s.score).toBe(1);
    expect(s.evidence.fundedShare).toBe(1.25);
    expect(s.evidence.secondsBeforeFirstTrade).toBe(60);
    // Two sales seconds apart make one run; a limit buy counts its value when placed.
    const limit = order({ price: 1e-6, amount: 3 / 1e-6 });
    const two = fold([sale(30_000), sale(20_000), limit]);
    expect(fundingSell(limit, two, cfg)!.evidence.fundingUsd).toBe(40_000);
    expect(fundingSell(limit, two, cfg)!.score).toBe(1);
  });

  it('leaves alone a sale long before, into another currency, a maker sale, a small one, and a pair traded before', () => {
    const buy = fill({ price: 1e-6, amount: 0.8 / 1e-6 });
    expect(fundingSell(buy, fold([sale(11 * MIN), buy]), cfg)).toBeUndefined();
    const usdt = sale(60_000, { symbol: 'ETH/USDT', price: 1500, amount: 10 });
    expect(fundingSell(buy, fold([usdt, buy]), cfg)).toBeUndefined();
    expect(fundingSell(buy, fold([sale(60_000, { takerOrMaker: 'maker' }), buy]), cfg)).toBeUndefined();
    const big = fill({ price: 1e-6, amount: 20 / 1e-6 });
    expect(fundingSell(big, fold([sale(60_000), big]), cfg)).toBeUndefined(); // 5 % of the spend
    const known = fold([fill({ timestamp: T0 - DAY }), sale(60_000), buy]);
    expect(fundingSell(buy, known, cfg)).toBeUndefined();
    // A pump buyer selling what it just bought in the new pair is not funding a buy.
    const profit = fill({
      side: 'sell',
      price: 2e-6,
      amount: 0.4 / 1e-6,
      takerOrMaker: 'taker',
      timestamp: T0 + 60_000,
    });
    const later = fill({ price: 1e-6, amount: 0.1 / 1e-6, timestamp: T0 + 61_000 });
    expect(fundingSell(later, fold([buy, profit, later]), cfg)).toBeUndefined();
    // A run no new pair can still draw on is not kept (state size).
    expect(fold([sale(0)]).fs).toBeDefined();
    expect(fold([sale(0), fill({ symbol: 'ETH/BTC', timestamp: T0 + 41 * MIN })]).fs).toBeUndefined();
  });
});

describe('key_context: a new client IP', () => {
  /** A key trading from two servers of its own for a day. */
  function twoServers(): AccountState {
    return fold(
      Array.from({ length: 8 }, (_, i) =>
        order({
          symbol: 'ETH/BTC',
          clientIp: i % 2 ? '10.0.0.1' : '10.0.0.2',
          timestamp: T0 - DAY + i * 3_600_000,
        }),
      ),
    );
  }

  it('holds while the key trades from the IP new to it, not on the IPs it used before', () => {
    const state = twoServers();
    const attacker = order({ clientIp: '203.0.113.5', timestamp: T0 });
    expect(keyContext(attacker, fold([attacker], state), cfg)!.evidence.clientIp).toBe('203.0.113.5');
    // The owner's bot goes on beside it from its own server: that order is not the new IP's.
    const owner = order({ symbol: 'ETH/BTC', clientIp: '10.0.0.1', timestamp: T0 + 60_000 });
    expect(keyContext(owner, fold([owner], state), cfg)).toBeUndefined();
    // The new IP's next order, and a fill after it (fills carry no IP: the key's latest), still do.
    const again = order({ clientIp: '203.0.113.5', timestamp: T0 + 120_000 });
    expect(keyContext(again, fold([again], state), cfg)!.score).toBe(cfg.keyContext.newIpScore);
    const paid = fill({ order: again.id, timestamp: T0 + 120_300 });
    expect(keyContext(paid, fold([paid], state), cfg)!.score).toBe(cfg.keyContext.newIpScore);
    // An hour later the IP is the key's own.
    const later = order({ clientIp: '203.0.113.5', timestamp: T0 + 3_600_001 });
    expect(keyContext(later, fold([later], state), cfg)).toBeUndefined();
  });

  it("tells the campaigns when a key's only IP is one it first used within the hour (a key with no history of its own)", () => {
    const firstOrder = order({ clientIp: '203.0.113.5', timestamp: T0 });
    const state = fold([firstOrder]);
    const observe = (symbol: string, at: number) => {
      const placed = order({ symbol, clientIp: '203.0.113.5', timestamp: at });
      const paid = fill({ symbol, order: placed.id, timestamp: at + 300 });
      return firstBuyObservation(paid, fold([placed, paid], state), thin, 'none', cfg)!;
    };
    expect(observe('YOYOW/BTC', T0 + 1_000)).toMatchObject({ newClientIp: false, freshClientIp: true });
    // An hour on, the IP is the key's own server.
    expect(observe('NXS/BTC', T0 + cfg.keyContext.windowMs + 1_000).freshClientIp).toBeUndefined();
    // A key that used other servers before: a new IP, not a fresh one.
    const moved = twoServers();
    const attacker = order({ clientIp: '203.0.113.5', timestamp: T0 });
    const paid = fill({ order: attacker.id, timestamp: T0 + 300 });
    const obs = firstBuyObservation(paid, fold([attacker, paid], moved), thin, 'none', cfg)!;
    expect(obs).toMatchObject({ newClientIp: true });
    expect(obs.freshClientIp).toBeUndefined();
  });
});
