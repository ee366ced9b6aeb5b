/**
 * What keyguard knows of one market (exchange + symbol), built from public prints and tickers on
 * event time: closed minute buckets for the reference price, hourly quote volume for liquidity,
 * and the last ticker for the spread.
 */
import type { DetectionConfig } from '../config/detection.js';
import type { TickerEvent, TradeEvent } from '../events/schema.js';
import { type MinuteBucket, median, type ReferencePrice, referenceFrom } from './reference-price.js';

export interface Liquidity {
  /** 24 h quote volume: the ticker's when fresh, else extrapolated from observed prints. */
  quoteVolume24h?: number;
  volumeSource?: 'ticker' | 'prints';
  spread?: number;
  printsPerHour?: number;
}

/** A plain snapshot handed to the (pure) detectors. */
export interface MarketSnapshot {
  exchange: string;
  symbol: string;
  reference?: ReferencePrice;
  /** The last public print before the event: the live market (which an attacker can move). */
  lastPrint?: { price: number; ageMs: number };
  /**
   * What other accounts paid just before the event (the account's own prints left out): a high and
   * a low quantile of their recent prints. Paying what the crowd pays is not paying above everyone.
   */
  live?: LiveMarket;
  liquidity: Liquidity;
  known: boolean;
}

export interface LiveMarket {
  high: number;
  low: number;
  prints: number;
  /** Age of the oldest print used. */
  spanMs: number;
}

/**
 * A quiet market: fewer than `minPrints` other accounts' prints within `windowMs` before the event
 * (the live window had to reach back to older prints). The one reading of it, for the held
 * above-live evidence and for the campaigns' first-buy observations.
 */
export function isQuietMarket(live: LiveMarket, cfg: DetectionConfig['liveMarket']): boolean {
  return live.spanMs > cfg.windowMs;
}

/**
 * What a buy is judged against in the live market (the others' high: paying above everyone) or a
 * sell (their low). The one reading, for the detectors and the first-buy observations.
 */
export function liveBar(live: LiveMarket, side: 'buy' | 'sell'): number {
  return side === 'buy' ? live.high : live.low;
}

/** How far a buy paid above `bar`, or a sell sold below it, as a fraction (0.2: 20 % beyond). */
export function premiumBeyond(price: number, bar: number, side: 'buy' | 'sell'): number {
  return side === 'buy' ? price / bar - 1 : 1 - price / bar;
}

const HOUR = 3_600_000;

/** The q-quantile (nearest rank) of a non-empty ascending list. */
function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Inserts keeping time order (appends in the usual case); drops what is older than `keepMs` or past `cap`. */
function insertByTime<T>(list: T[], item: T, time: (x: T) => number, keepMs: number, cap: number): void {
  let i = list.length;
  while (i > 0 && time(list[i - 1]!) > time(item)) i--;
  list.splice(i, 0, item);
  const newest = time(list[list.length - 1]!);
  let drop = 0;
  while (drop < list.length - 1 && time(list[drop]!) < newest - keepMs) drop++;
  drop = Math.max(drop, list.length - cap);
  // In chunks (at least 64 stale items, or an eighth of the list): a list holding hours of prints
  // behind a lagging account side must not be shifted on every insert.
  if (drop >= Math.max(64, list.length >> 3) || list.length > cap) list.splice(0, drop);
}

/** The last item at or before `at` in a time-ordered list (binary search: the list may hold hours). */
function latestAtOrBefore<T>(list: readonly T[], at: number, time: (x: T) => number): T | undefined {
  let lo = 0;
  let hi = list.length; // first index with time > at
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (time(list[mid]!) <= at) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 ? list[lo - 1] : undefined;
}

export class MarketBook {
  private readonly buckets: MinuteBucket[] = [];
  private current?: { start: number; prices: number[] };
  private hours = new Map<number, { quote: number; prints: number }>();
  private firstPrintAt?: number;
  /**
   * The latest prints and tickers, time-ordered and kept for `reference.historyMs`, so a snapshot
   * at time t sees exactly what was public at t even when the market stream runs up to that far
   * ahead of the account stream (a streaming worker catching up).
   */
  private readonly recentPrints: Array<{ at: number; price: number; id: string }> = [];
  private readonly recentTickers: TickerEvent[] = [];
  private anomalousSince?: number;
  private cached?: { key: number; value: ReferencePrice | undefined };
  /** References by the end of their window; cleared whenever a bucket closes. */
  private byWindowEnd = new Map<number, ReferencePrice | undefined>();

  constructor(
    readonly exchange: string,
    readonly symbol: string,
    private readonly cfg: DetectionConfig,
    /**
     * The earliest event time an account event may still be scored at (the account side's
     * progress; +∞ when no account backlog is pending, −∞ while unknown). History is kept from
     * there, not only `historyMs` back from the newest print, so a market stream that runs ahead
     * of a lagging account stream keeps what the account events will ask for.
     */
    private readonly accountFloor: () => number = () => Number.POSITIVE_INFINITY,
  ) {}

  /** How far back from the newest print to keep prints and tickers. */
  private keepMs(newest: number): number {
    return this.cfg.reference.historyMs + Math.max(0, newest - this.accountFloor());
  }

  applyTrade(trade: TradeEvent): void {
    const bucketMs = this.cfg.reference.bucketMs;
    const start = trade.timestamp - (trade.timestamp % bucketMs);
    this.firstPrintAt ??= trade.timestamp;
    const keep = this.keepMs(trade.timestamp);
    insertByTime(
      this.recentPrints,
      { at: trade.timestamp, price: trade.price, id: trade.id },
      (p) => p.at,
      keep,
      200_000,
    );
    const hour = trade.timestamp - (trade.timestamp % HOUR);
    const h = this.hours.get(hour) ?? { quote: 0, prints: 0 };
    h.quote += trade.price * trade.amount;
    h.prints += 1;
    this.hours.set(hour, h);
    if (this.hours.size > 26 + keep / HOUR) {
      const cutoff = hour - 25 * HOUR - keep;
      for (const k of this.hours.keys()) if (k < cutoff) this.hours.delete(k);
    }
    if (this.current && start > this.current.start) this.closeCurrent();
    if (!this.current) this.current = { start, prices: [] };
    // A print for a minute already closed (out of order) counts for volume, not for the reference.
    if (start === this.current.start) this.current.prices.push(trade.price);
  }

  applyTicker(ticker: TickerEvent): void {
    const keep = this.cfg.liquidity.tickerMaxAgeMs + this.keepMs(ticker.timestamp);
    insertByTime(this.recentTickers, ticker, (t) => t.timestamp, keep, 4096);
  }

  private closeCurrent(): void {
    const cur = this.current;
    if (!cur || cur.prices.length === 0) return;
    this.current = undefined;
    const cfg = this.cfg.reference;
    const bucketMedian = median(cur.prices);
    // Judge the minute against the reference of its own time (lag 0: every minute before it).
    const ref = this.referenceEndingAt(cur.start);
    const deviation = ref ? Math.abs(bucketMedian / ref.price - 1) : 0;
    const limit = Math.max(cfg.anomalyDeviation, 4 * (ref?.dispersion ?? 0));
    const spike =
      ref !== undefined && cur.prices.length > cfg.printSpikeFactor * Math.max(1, ref.printsPerMinute);
    const normal = !ref || (deviation <= limit && !(spike && deviation > limit / 2));
    this.buckets.push({ start: cur.start, median: bucketMedian, prints: cur.prices.length, normal });
    let reanchored = false;
    if (normal) {
      this.anomalousSince = undefined;
    } else {
      this.anomalousSince ??= cur.start;
      if (cur.start - this.anomalousSince >= cfg.reanchorMs) {
        // The new level held for hours: accept it as the market's price.
        // Recorded with its time, so references for earlier moments stay as they were.
        const since = this.anomalousSince;
        for (const b of this.buckets)
          if (b.start >= since && !b.normal) b.normalFrom = cur.start + cfg.bucketMs;
        this.anomalousSince = undefined;
        reanchored = true;
      }
    }
    // Keep a day of minutes (what any reference may use), bounded by maxBuckets.
    let drop = 0;
    while (drop < this.buckets.length && this.buckets[drop]!.start < cur.start - cfg.maxAgeMs - cfg.historyMs)
      drop++;
    drop = Math.max(drop, this.buckets.length - cfg.maxBuckets);
    if (drop > 0) this.buckets.splice(0, drop);
    this.cached = undefined;
    // The new minute changes only references whose window reaches past its end.
    if (reanchored) this.byWindowEnd.clear();
    else
      for (const end of this.byWindowEnd.keys())
        if (end >= cur.start + cfg.bucketMs) this.byWindowEnd.delete(end);
    if (this.byWindowEnd.size > 8) this.byWindowEnd.delete(this.byWindowEnd.keys().next().value!);
  }

  /** The reference over closed minutes ending at `end` (no lag), shared by the anomaly check and snapshots. */
  private referenceEndingAt(end: number): ReferencePrice | undefined {
    if (this.byWindowEnd.has(end)) return this.byWindowEnd.get(end);
    const value = referenceFrom(this.buckets, end, { ...this.cfg.reference, lagMs: 0 });
    this.byWindowEnd.set(end, value);
    return value;
  }

  /** The reference at event time `at`; computed once per bucket step (lag is whole buckets). */
  reference(at: number): ReferencePrice | undefined {
    const cfg = this.cfg.reference;
    if (this.current && this.current.start + cfg.bucketMs <= at - cfg.lagMs) this.closeCurrent();
    const key = at - (at % cfg.bucketMs);
    if (this.cached?.key !== key) {
      const ending = this.referenceEndingAt(key - cfg.lagMs);
      this.cached = { key, value: ending && { ...ending, ageMs: ending.ageMs + cfg.lagMs } };
    }
    const value = this.cached.value;
    return value && { ...value, ageMs: value.ageMs + (at - key) };
  }

  liquidity(at: number): Liquidity {
    const cfg = this.cfg.liquidity;
    const out: Liquidity = {};
    const t = latestAtOrBefore(this.recentTickers, at, (x) => x.timestamp);
    const tickerFresh = t !== undefined && at - t.timestamp <= cfg.tickerMaxAgeMs;
    if (tickerFresh && t.bid !== undefined && t.ask !== undefined && t.ask >= t.bid) {
      out.spread = (t.ask - t.bid) / ((t.ask + t.bid) / 2);
    }
    if (tickerFresh && t.quoteVolume !== undefined) {
      out.quoteVolume24h = t.quoteVolume;
      out.volumeSource = 'ticker';
    }
    if (this.firstPrintAt !== undefined) {
      let quote = 0;
      let prints = 0;
      // Complete hours only: the hour in progress (a pump, an attack) does not make a pair look liquid.
      const currentHour = at - (at % HOUR);
      const from = currentHour - 24 * HOUR;
      for (const [hour, h] of this.hours) {
        if (hour >= from && hour < currentHour) {
          quote += h.quote;
          prints += h.prints;
        }
      }
      // Scale up when keyguard has seen less than a day of this market.
      const span = Math.min(24 * HOUR, Math.max(HOUR, currentHour - this.firstPrintAt));
      const scale = (24 * HOUR) / span;
      out.printsPerHour = (prints * scale) / 24;
      if (out.quoteVolume24h === undefined) {
        out.quoteVolume24h = quote * scale;
        out.volumeSource = 'prints';
      }
    }
    return out;
  }

  /**
   * Other accounts' prints up to `at` (prints whose id is in `own` left out): those of the last
   * `live.windowMs`, or when fewer than `live.minPrints`, the latest `minPrints` within
   * `live.maxAgeMs`. Walks back from `at` (binary search to start), so a pump's flood costs one
   * window, not the list.
   */
  live(at: number, own: readonly string[]): LiveMarket | undefined {
    const c = this.cfg.liveMarket;
    const list = this.recentPrints;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (list[mid]!.at <= at) lo = mid + 1;
      else hi = mid;
    }
    const prices: number[] = [];
    let oldest = at;
    for (let i = lo - 1; i >= 0; i--) {
      const p = list[i]!;
      const age = at - p.at;
      if (age > c.maxAgeMs || (age > c.windowMs && prices.length >= c.minPrints)) break;
      if (own.length > 0 && own.includes(p.id)) continue;
      prices.push(p.price);
      oldest = p.at;
      if (prices.length >= c.maxPrints) break; // bounded work per event, however busy the pair
    }
    if (prices.length === 0) return undefined;
    if (prices.length > 1) prices.sort((a, b) => a - b);
    return {
      high: quantile(prices, c.quantile),
      low: quantile(prices, 1 - c.quantile),
      prints: prices.length,
      spanMs: at - oldest,
    };
  }

  snapshot(at: number): MarketSnapshot {
    const reference = this.reference(at);
    const lastPrint = latestAtOrBefore(this.recentPrints, at, (p) => p.at);
    return {
      exchange: this.exchange,
      symbol: this.symbol,
      ...(reference ? { reference } : {}),
      ...(lastPrint ? { lastPrint: { price: lastPrint.price, ageMs: at - lastPrint.at } } : {}),
      liquidity: this.liquidity(at),
      known: this.firstPrintAt !== undefined || this.recentTickers.length > 0,
    };
  }
}
