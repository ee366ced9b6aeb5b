import type { DetectionConfig } from '../config/detection.js';
import type { MarketEvent } from '../events/schema.js';
import { type LiveMarket, MarketBook, type MarketSnapshot } from './market-book.js';
import { median, type ReferencePrice } from './reference-price.js';

/**
 * All markets this process has seen. Kept in process memory: every worker consumes the whole
 * market stream, so each has the full picture without a shared lock.
 */
export class MarketState {
  private readonly books = new Map<string, MarketBook>();
  /** Books by symbol, across venues. */
  private readonly venues = new Map<string, MarketBook[]>();

  /** `accountFloor`: see MarketBook (the streaming worker's account-side progress; replay has none). */
  constructor(
    private readonly cfg: DetectionConfig,
    private readonly accountFloor: () => number = () => Number.POSITIVE_INFINITY,
  ) {}

  private book(exchange: string, symbol: string): MarketBook {
    const key = `${exchange}\u0000${symbol}`;
    let book = this.books.get(key);
    if (!book) {
      book = new MarketBook(exchange, symbol, this.cfg, this.accountFloor);
      this.books.set(key, book);
      const list = this.venues.get(symbol) ?? [];
      list.push(book);
      this.venues.set(symbol, list);
    }
    return book;
  }

  apply(event: MarketEvent): void {
    const book = this.book(event.exchange, event.symbol);
    if (event.kind === 'trade') book.applyTrade(event);
    else book.applyTicker(event);
  }

  snapshot(exchange: string, symbol: string, at: number): MarketSnapshot {
    const book = this.books.get(`${exchange}\u0000${symbol}`);
    const own: MarketSnapshot = book ? book.snapshot(at) : { exchange, symbol, liquidity: {}, known: false };
    const reference = this.crossVenueReference(exchange, symbol, at, own.reference);
    return reference ? { ...own, reference } : own;
  }

  /** What other accounts paid just before `at` on this venue (`ownPrints`: the account's trade ids, left out). */
  live(exchange: string, symbol: string, at: number, ownPrints: readonly string[]): LiveMarket | undefined {
    return this.books.get(`${exchange}\u0000${symbol}`)?.live(at, ownPrints);
  }

  /**
   * When other venues quote the symbol, the reference is the median of every venue's fresh
   * reference (an attacker who drags one thin venue along does not move the others). A venue
   * whose reference is older than `crossVenue.maxAgeMs` is left out; with no other fresh venue,
   * the venue's own reference stands.
   */
  private crossVenueReference(
    exchange: string,
    symbol: string,
    at: number,
    own: ReferencePrice | undefined,
  ): ReferencePrice | undefined {
    const cv = this.cfg.reference.crossVenue;
    const books = this.venues.get(symbol);
    if (!cv.enabled || !books || books.length < 2) return undefined;
    const fresh: Array<{ venue: string; ref: ReferencePrice }> = [];
    for (const b of books) {
      const ref = b.exchange === exchange ? own : b.reference(at);
      if (ref && ref.ageMs <= cv.maxAgeMs) fresh.push({ venue: b.exchange, ref });
    }
    if (!fresh.some((f) => f.venue !== exchange)) return undefined;
    const mine = fresh.find((f) => f.venue === exchange)?.ref;
    return {
      price: median(fresh.map((f) => f.ref.price)),
      // The pair's own noise and activity still describe the venue the event happened on.
      printsPerMinute: mine?.printsPerMinute ?? median(fresh.map((f) => f.ref.printsPerMinute)),
      dispersion: mine?.dispersion ?? median(fresh.map((f) => f.ref.dispersion)),
      prints: fresh.reduce((s, f) => s + f.ref.prints, 0),
      minutes: Math.max(...fresh.map((f) => f.ref.minutes)),
      ageMs: Math.max(...fresh.map((f) => f.ref.ageMs)),
      source: 'cross_venue_median',
      venues: fresh.map((f) => f.venue).sort(),
    };
  }
}
