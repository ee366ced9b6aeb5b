/**
 * Polls one exchange through ccxt — tickers, and recent public trades since the last one seen —
 * and hands contract events to `publish`. ccxt's rate limiter paces the requests; network errors,
 * 429s and 5xx (ccxt's NetworkError family) are retried with backoff, other errors are counted and
 * the symbol is tried again at the next poll. Each venue runs its own loop: one failing exchange
 * never stops the others.
 */
import ccxt, { type Exchange, type Trade } from 'ccxt';
import { ConfigError } from '../errors.js';
import type { MarketEvent } from '../events/schema.js';
import { NATIVE_EXCHANGES, type NativeExchange, spotMarket } from '../ingest/native-payloads.js';
import type { Logger } from '../logger.js';
import type { MarketFeedMetrics } from '../observability/market-feed-metrics.js';
import { RetryAbandoned, retryUntilDone } from '../worker/retry.js';
import { tickerEvent, tradeEvent } from './ccxt-market-events.js';
import type { MarketFeedConfig, VenueConfig } from './feed-config.js';

export function venueClient(venue: VenueConfig): Exchange {
  const Ctor = (ccxt as unknown as Record<string, new (cfg: object) => Exchange>)[venue.exchange];
  if (!Ctor) throw new ConfigError(`ccxt has no exchange "${venue.exchange}"`);
  const client = new Ctor({ ...venue.ccxt, enableRateLimit: true });
  if (venue.apiUrls) {
    const api = client.urls.api as unknown as Record<string, string>;
    client.urls.api = { ...api, ...venue.apiUrls } as typeof client.urls.api;
  }
  if (venue.markets === 'symbols') {
    if (!NATIVE_EXCHANGES.includes(venue.exchange as NativeExchange)) {
      throw new ConfigError(
        `markets "symbols" is for ${NATIVE_EXCHANGES.join(', ')}; use "load" for ${venue.exchange}`,
      );
    }
    client.setMarkets(venue.symbols.map((s) => spotMarket(venue.exchange as NativeExchange, s)));
  }
  return client;
}

export class VenuePoller {
  private stopped = false;
  private wake?: () => void;
  /** Per symbol: the newest trade time seen and the trade ids at that time (the next `since`). */
  private readonly cursors = new Map<string, { since: number; ids: Set<string> }>();

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
      if (trades) out.push(...this.newTrades(symbol, trades));
      else complete = false;
    }
    end();
    if (complete) this.metrics.lastPoll.set({ exchange }, Date.now() / 1000);
    for (const e of out) this.metrics.events.inc({ exchange, kind: e.kind });
    return out;
  }

  /** Trades after the cursor (a `since` query returns the trades at `since` again). */
  private newTrades(symbol: string, trades: Trade[]): MarketEvent[] {
    const exchange = this.venue.exchange;
    const cursor = this.cursors.get(symbol) ?? { since: Number.NEGATIVE_INFINITY, ids: new Set<string>() };
    const out: MarketEvent[] = [];
    trades.forEach((t, i) => {
      const r = tradeEvent(exchange, t, i);
      if (!r.ok) {
        this.log.warn({ exchange, symbol, reason: r.reason }, 'trade does not fit the contract, skipped');
        return;
      }
      const e = r.event as MarketEvent & { id: string };
      if (e.timestamp < cursor.since || (e.timestamp === cursor.since && cursor.ids.has(e.id))) return;
      if (e.timestamp > cursor.since) {
        cursor.since = e.timestamp;
        cursor.ids = new Set();
      }
      cursor.ids.add(e.id);
      out.push(e);
    });
    this.cursors.set(symbol, cursor);
    return out;
  }

  /** One ccxt call with retries for network-class errors; undefined when given up for this poll. */
  private async request<T>(
    method: 'fetchTicker' | 'fetchTrades',
    call: () => Promise<T>,
  ): Promise<T | undefined> {
    const exchange = this.venue.exchange;
    let attempts = 0;
    try {
      const value = await retryUntilDone(
        () => {
          attempts++;
          return call();
        },
        {
          minDelayMs: this.retry.initialDelayMs,
          maxDelayMs: this.retry.maxDelayMs,
          shouldContinue: () => !this.stopped && attempts < this.retry.attempts,
          giveUpOn: (err) => !(err instanceof ccxt.NetworkError),
          onRetry: (err, attempt, delayMs) => {
            this.metrics.requests.inc({ exchange, method, result: 'retried' });
            this.log.warn(
              { exchange, method, attempt, delayMs, err: (err as Error).message.slice(0, 300) },
              'market request failed, retrying',
            );
          },
        },
      );
      this.metrics.requests.inc({ exchange, method, result: 'ok' });
      return value;
    } catch (err) {
      const cause = err instanceof RetryAbandoned ? err.lastError : err;
      this.metrics.requests.inc({ exchange, method, result: 'failed' });
      this.log.error(
        {
          exchange,
          method,
          err: (cause as Error)?.message?.slice(0, 300),
          errorClass: (cause as Error)?.constructor?.name,
        },
        'market request failed; the next poll tries again',
      );
      return undefined;
    }
  }
}
