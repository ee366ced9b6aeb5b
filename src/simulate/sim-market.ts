/**
 * A simulated market: its public prints (sorted by time) and tickers, plus a price lookup so
 * simulated accounts can trade "at the market".
 */
import type { TickerEvent, TradeEvent } from '../events/schema.js';
import { median } from '../market/reference-price.js';
import type { Rng } from './rng.js';

export interface SimMarket {
  exchange: string;
  symbol: string;
  liquid: boolean;
  prints: TradeEvent[];
  tickers: TickerEvent[];
  /** When the pump (real or synthetic) starts, for illiquid markets. */
  pumpAt?: number;
}

/** Last print at or before t (the first print before the tape starts). */
export function priceAt(market: SimMarket, t: number): number {
  const p = market.prints;
  let lo = 0;
  let hi = p.length - 1;
  if (hi < 0) throw new Error(`market ${market.symbol} has no prints`);
  if (t < p[0]!.timestamp) return p[0]!.price;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (p[mid]!.timestamp <= t) lo = mid;
    else hi = mid - 1;
  }
  return p[lo]!.price;
}

/** Median of prints in [t − windowMs, t): the "true" pre-attack price used to measure moved value. */
export function medianBefore(market: SimMarket, t: number, windowMs: number): number {
  const prices = market.prints
    .filter((x) => x.timestamp >= t - windowMs && x.timestamp < t)
    .map((x) => x.price);
  return prices.length > 0 ? median(prices) : priceAt(market, t);
}

export interface LiquidSpec {
  symbol: string;
  price: number;
  quoteVolume24h: number;
  meanPrintGapMs: number;
}

export const LIQUID_MARKETS: readonly LiquidSpec[] = [
  { symbol: 'BTC/USDT', price: 20_500, quoteVolume24h: 8e8, meanPrintGapMs: 20_000 },
  { symbol: 'ETH/USDT', price: 1_550, quoteVolume24h: 4e8, meanPrintGapMs: 25_000 },
  { symbol: 'ETH/BTC', price: 0.0755, quoteVolume24h: 9_000, meanPrintGapMs: 30_000 },
  { symbol: 'BNB/BTC', price: 0.0158, quoteVolume24h: 2_500, meanPrintGapMs: 40_000 },
  { symbol: 'XRP/BTC', price: 0.0000221, quoteVolume24h: 1_800, meanPrintGapMs: 40_000 },
  { symbol: 'LTC/BTC', price: 0.00325, quoteVolume24h: 900, meanPrintGapMs: 45_000 },
];

/** A geometric random walk with Poisson prints and a ticker every 10 minutes. */
export function liquidMarket(
  spec: LiquidSpec,
  from: number,
  to: number,
  rng: Rng,
  exchange = 'binance',
): SimMarket {
  const prints: TradeEvent[] = [];
  const tickers: TickerEvent[] = [];
  let price = spec.price;
  let t = from;
  let n = 0;
  const base = spec.symbol.replace('/', '');
  const perPrintVol = 0.0008 * Math.sqrt(spec.meanPrintGapMs / 60_000);
  let nextTicker = from;
  while (t < to) {
    t += Math.max(1, Math.round(rng.exp(spec.meanPrintGapMs)));
    price *= Math.exp(perPrintVol * rng.normal());
    while (nextTicker <= t) {
      const spread = 0.0002;
      tickers.push({
        kind: 'ticker',
        exchange,
        symbol: spec.symbol,
        timestamp: nextTicker,
        bid: price * (1 - spread / 2),
        ask: price * (1 + spread / 2),
        last: price,
        quoteVolume: spec.quoteVolume24h * rng.uniform(0.8, 1.2),
      });
      nextTicker += 600_000;
    }
    const amount = ((spec.quoteVolume24h / 86_400_000) * spec.meanPrintGapMs * rng.exp(1)) / price;
    prints.push({
      kind: 'trade',
      exchange,
      symbol: spec.symbol,
      timestamp: t,
      id: `${base}-${++n}`,
      price,
      amount,
      side: rng.chance(0.5) ? 'buy' : 'sell',
    });
  }
  return { exchange, symbol: spec.symbol, liquid: true, prints, tickers };
}

/**
 * A thin market with a pump: a few prints an hour around a flat price, then at `pumpAt` the print
 * rate jumps a hundredfold and the price climbs `pumpGain` in a few minutes, then collapses.
 */
export function syntheticIlliquidMarket(
  symbol: string,
  from: number,
  to: number,
  pumpAt: number,
  rng: Rng,
  exchange = 'binance',
): SimMarket {
  const prints: TradeEvent[] = [];
  const tickers: TickerEvent[] = [];
  const p0 = rng.uniform(2e-7, 8e-6);
  const pumpGain = rng.uniform(0.2, 0.7);
  const base = symbol.replace('/', '');
  let t = from;
  let n = 0;
  let nextTicker = from;
  const level = (at: number) => {
    const dt = at - pumpAt;
    if (dt < 0) return 1;
    if (dt < 180_000) return 1 + pumpGain * (dt / 180_000);
    return 1 + pumpGain * Math.exp(-(dt - 180_000) / 900_000) - 0.05 * Math.min(1, dt / 3_600_000);
  };
  while (t < to) {
    const inPump = t >= pumpAt && t < pumpAt + 1_800_000;
    t += Math.max(1, Math.round(rng.exp(inPump ? 1_500 : 150_000)));
    const price = p0 * level(t) * (1 + 0.012 * rng.normal());
    while (nextTicker <= t) {
      const mid = p0 * level(nextTicker);
      const spread = rng.uniform(0.01, 0.03);
      tickers.push({
        kind: 'ticker',
        exchange,
        symbol,
        timestamp: nextTicker,
        bid: mid * (1 - spread / 2),
        ask: mid * (1 + spread / 2),
        last: mid,
        quoteVolume: rng.uniform(2, 12),
      });
      nextTicker += 600_000;
    }
    prints.push({
      kind: 'trade',
      exchange,
      symbol,
      timestamp: t,
      id: `${base}-${++n}`,
      price,
      amount: (rng.exp(0.02) + 0.001) / price,
      side: rng.chance(inPump ? 0.8 : 0.5) ? 'buy' : 'sell',
    });
  }
  return { exchange, symbol, liquid: false, prints, tickers, pumpAt };
}
