import { describe, expect, it } from 'vitest';
import { loadDetectionConfig } from '../../src/config/detection.js';
import { offMarketFill } from '../../src/detectors/off-market-fill.js';
import { MarketState } from '../../src/market/market-state.js';
import { fill, flatTape, MIN, print, T0, ticker } from '../helpers/events.js';

const cfg = loadDetectionConfig();

function marketWith(events: Parameters<MarketState['apply']>[0][]): MarketState {
  const m = new MarketState(cfg);
  for (const e of events) m.apply(e);
  return m;
}

describe('reference price', () => {
  it('is unknown for a market never seen, and with fewer prints than minPrints', () => {
    expect(new MarketState(cfg).snapshot('binance', 'YOYOW/BTC', T0)).toMatchObject({
      known: false,
      liquidity: {},
    });
    const m = marketWith([print({ timestamp: T0 - 10 * MIN }), print({ timestamp: T0 - 9 * MIN })]);
    expect(m.snapshot('binance', 'YOYOW/BTC', T0).reference).toBeUndefined();
  });

  it('is the median of minute medians and ignores the last minute (lag)', () => {
    const m = marketWith([...flatTape(1e-6, T0 - MIN, 60), print({ price: 5e-6, timestamp: T0 - 30_000 })]);
    const ref = m.snapshot('binance', 'YOYOW/BTC', T0).reference!;
    expect(ref.price).toBeCloseTo(1e-6, 9);
    expect(ref.source).toBe('lagged_median_of_normal_minutes');
  });

  it('is not dragged along by a pump or by a flood of the attacker own prints', () => {
    const pump = Array.from({ length: 30 }, (_, i) =>
      Array.from({ length: 50 }, (_, j) => print({ price: 1.6e-6, timestamp: T0 + i * MIN + j * 1000 })),
    ).flat();
    const m = marketWith([...flatTape(1e-6, T0, 120), ...pump]);
    const ref = m.snapshot('binance', 'YOYOW/BTC', T0 + 30 * MIN).reference!;
    expect(ref.price).toBeCloseTo(1e-6, 8);
  });

  it('leaves out a print flood even when each minute moves only a little', () => {
    const creep = Array.from({ length: 20 }, (_, i) =>
      Array.from({ length: 40 }, (_, j) => print({ price: 1e-6 * 1.05, timestamp: T0 + i * MIN + j * 1000 })),
    ).flat();
    const m = marketWith([...flatTape(1e-6, T0, 60), ...creep]);
    expect(m.snapshot('binance', 'YOYOW/BTC', T0 + 20 * MIN).reference!.price).toBeCloseTo(1e-6, 8);
  });

  it('re-anchors when a new price level holds for reanchorMs', () => {
    const hours = cfg.reference.reanchorMs / MIN + 20;
    const newLevel = Array.from({ length: hours }, (_, i) =>
      print({ price: 2e-6, timestamp: T0 + i * MIN + 500 }),
    );
    const m = marketWith([...flatTape(1e-6, T0, 60), ...newLevel]);
    expect(m.snapshot('binance', 'YOYOW/BTC', T0 + hours * MIN).reference!.price).toBeCloseTo(2e-6, 8);
  });
});

describe('liquidity', () => {
  it('uses a fresh ticker for volume and spread, and ignores a stale one', () => {
    const m = marketWith([ticker({ bid: 0.99e-6, ask: 1.01e-6, quoteVolume: 3, timestamp: T0 - MIN })]);
    const fresh = m.snapshot('binance', 'YOYOW/BTC', T0).liquidity;
    expect(fresh.quoteVolume24h).toBe(3);
    expect(fresh.volumeSource).toBe('ticker');
    expect(fresh.spread).toBeCloseTo(0.02, 6);
    const stale = m.snapshot('binance', 'YOYOW/BTC', T0 + cfg.liquidity.tickerMaxAgeMs + 2 * MIN).liquidity;
    expect(stale.quoteVolume24h).toBeUndefined();
  });

  it('estimates 24 h volume from complete hours of prints, scaled up when less than a day is known', () => {
    // 2 complete hours, one print a minute of 1000 × 1e-6 = 0.001 BTC → 0.12 BTC in 2 h → 1.44 BTC a day
    const m = marketWith(flatTape(1e-6, T0, 120));
    const l = m.snapshot('binance', 'YOYOW/BTC', T0 + 1).liquidity;
    expect(l.volumeSource).toBe('prints');
    expect(l.quoteVolume24h).toBeGreaterThan(1.2);
    expect(l.quoteVolume24h).toBeLessThan(1.7);
  });
});

describe('cross-venue reference', () => {
  const onVenue = (exchange: string, price: number, end: number, minutes: number) =>
    flatTape(price, end, minutes).map((p) => ({ ...p, exchange, id: `${exchange}-${p.id}` }));

  it('is the median of the fresh venues: a thin venue dragged along for hours does not move it; stale venues are left out', () => {
    const m = marketWith(
      [
        // The thin venue has traded at 1.5e-6 for four hours (its own reference re-anchored there).
        ...onVenue('thin', 1.5e-6, T0 - MIN, 240),
        ...onVenue('big-a', 1e-6, T0 - MIN, 240),
        ...onVenue('big-b', 1.02e-6, T0 - MIN, 240),
        // A venue that stopped quoting hours ago.
        ...onVenue('gone', 9e-6, T0 - 5 * 60 * MIN, 60),
      ].sort((a, b) => a.timestamp - b.timestamp),
    );
    const ref = m.snapshot('thin', 'YOYOW/BTC', T0).reference!;
    expect(ref.source).toBe('cross_venue_median');
    expect(ref.venues).toEqual(['big-a', 'big-b', 'thin']);
    expect(ref.price).toBeCloseTo(1.02e-6, 10);
    expect(ref.ageMs).toBeLessThanOrEqual(cfg.reference.crossVenue.maxAgeMs);

    const signal = offMarketFill(
      fill({ exchange: 'thin', price: 1.45e-6, timestamp: T0 }),
      m.snapshot('thin', 'YOYOW/BTC', T0),
      cfg,
    );
    expect(signal?.score).toBeGreaterThanOrEqual(0.8);
    expect(signal?.evidence).toMatchObject({
      referenceSource: 'cross_venue_median',
      referenceVenues: 'big-a,big-b,thin',
    });
  });

  it('leaves a venue alone when no other venue quotes the symbol freshly, or when switched off', () => {
    const events = [
      ...onVenue('thin', 1.5e-6, T0 - MIN, 240),
      ...onVenue('gone', 1e-6, T0 - 5 * 60 * MIN, 60),
    ].sort((a, b) => a.timestamp - b.timestamp);
    expect(marketWith(events).snapshot('thin', 'YOYOW/BTC', T0).reference?.source).toBe(
      'lagged_median_of_normal_minutes',
    );
    const off = new MarketState({
      ...cfg,
      reference: { ...cfg.reference, crossVenue: { enabled: false, maxAgeMs: 1 } },
    });
    for (const e of [...onVenue('thin', 1.5e-6, T0 - MIN, 240), ...onVenue('big-a', 1e-6, T0 - MIN, 240)])
      off.apply(e);
    expect(off.snapshot('thin', 'YOYOW/BTC', T0).reference?.price).toBeCloseTo(1.5e-6, 10);
  });
});
