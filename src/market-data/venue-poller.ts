/**
 * Polls one exchange through ccxt — tickers, and recent public trades since the last one seen —
 * and hands contract events to `publish`. ccxt's rate limiter paces the requests; network errors,
 * 429s and 5xx (ccxt's NetworkError family) are retried with backoff, other errors are counted and
 * the symbol is tried again at the next poll. Each venue runs its own loop: one failing exchange
 * never stops the others.
 */
import type { Exchange } from 'ccxt';
import type { MarketEvent, TradeEvent } from '../events/schema.js';
import { ccxtRequest } from '../ingest/ccxt-request.js';
import { type TimeCursor, takeNew } from '../ingest/time-cursor.js';
import type { Logger } from '../logger.js';
import type { MarketFeedMetrics } from '../observability/market-feed-metrics.js';
import { tickerEvent, tradeEvent } from './ccxt-market-events.js';
import type { MarketFeedConfig, VenueConfig } from './feed-config.js';

export class VenuePoller {
  private stopped = false;
  private wake?: () => void;
  /** Per symbol: the newest trade time seen and the trade ids at that time (the next `since`). */
  private readonly cursors = new Map<string, TimeCursor>();

  constructor(
    private readonly client: Exchange,
    private readonly venue: VenueConfig,
    private readonly retry: MarketFeedConfig['retry'],
    private readonly publish: (events: MarketEvent[]) => Promise<void>,
    private readonly metrics: MarketFeedMetrics,
    private readonly log: Logger,
  ) {}

  async run(): Promise<void> {
    while (!this.stopped) {
      const started = Date.now();
      const events = await this.pollOnce();
      if (events.length > 0) await this.publish(events);
      const wait = Math.max(0, this.venue.pollIntervalMs - (Date.now() - started));
      if (!this.stopped && wait > 0)
        await new Promise<void>((r) => {
          this.wake = r;
          setTimeout(r, wait);
        });
    }
  }

  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  private request<T>(method: 'fetchTicker' | 'fetchTrades', call: () => Promise<T>): Promise<T | undefined> {
    return ccxtRequest(
      { exchange: this.venue.exchange, method },
      call,
      this.retry,
      () => this.stopped,
      this.metrics.requests,
      this.log,
    );
  }

  /** One round over the venue's symbols. */
  async pollOnce(): Promise<MarketEvent[]> {
    const exchange = this.venue.exchange;
    const end = this.metrics.pollDuration.startTimer({ exchange });
    const out: MarketEvent[] = [];
    let complete = true;
    for (const symbol of this.venue.symbols) {
      const ticker = await this.request('fetchTicker', () => this.client.fetchTicker(symbol));
      if (ticker) {
        const e = tickerEvent(exchange, ticker, Date.now());
        if (e.ok) out.push(e.event as MarketEvent);
        else
          this.log.warn({ exchange, symbol, reason: e.reason }, 'ticker does not fit the contract, skipped');
      } else complete = false;
      if (!this.venue.trades) continue;
      const cursor = this.cursors.get(symbol);
      const trades = await this.request('fetchTrades', () => this.client.fetchTrades(symbol, cursor?.since));
      if (!trades) {
        complete = false;
        continue;
      }
      const events = trades.flatMap((t, i) => {
        const r = tradeEvent(exchange, t, i);
        if (r.ok) return [r.event as TradeEvent];
        this.log.warn({ exchange, symbol, reason: r.reason }, 'trade does not fit the contract, skipped');
        return [];
      });
      const taken = takeNew(cursor, events);
      if (taken.cursor) this.cursors.set(symbol, taken.cursor);
      out.push(...taken.fresh);
    }
    end();
    if (complete) this.metrics.lastPoll.set({ exchange }, Date.now() / 1000);
    for (const e of out) this.metrics.events.inc({ exchange, kind: e.kind });
    return out;
  }
}
