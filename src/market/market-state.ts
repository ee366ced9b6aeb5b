import type { DetectionConfig } from '../config/detection.js';
import type { MarketEvent } from '../events/schema.js';
import { MarketBook, type MarketSnapshot } from './market-book.js';

/**
 * All markets this process has seen. Kept in process memory: every worker consumes the whole
 * market stream, so each has the full picture without a shared lock.
 */
export class MarketState {
  private readonly books = new Map<string, MarketBook>();

  constructor(private readonly cfg: DetectionConfig) {}

  private book(exchange: string, symbol: string): MarketBook {
    const key = `${exchange}\u0000${symbol}`;
    let book = this.books.get(key);
    if (!book) {
      book = new MarketBook(exchange, symbol, this.cfg);
      this.books.set(key, book);
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
    if (!book) return { exchange, symbol, liquidity: {}, known: false };
    return book.snapshot(at);
  }
}
