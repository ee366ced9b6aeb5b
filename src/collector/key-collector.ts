/**
 * Collects one connected key's own trades and orders through ccxt (`fetchMyTrades`, `fetchOrders`
 * since the stored cursor), turns them into contract events for the key's account, publishes them
 * (acknowledged by Kafka), and only then moves the cursor in Redis. A restart resumes from the
 * cursor: nothing is missed, and nothing published before the cursor moved is fetched again.
 */
import type { Exchange } from 'ccxt';
import type { AccountEvent } from '../events/schema.js';
import { fillFromCcxtTrade, orderFromCcxtOrder } from '../ingest/ccxt-events.js';
import { ccxtRequest, type RequestPolicy } from '../ingest/ccxt-request.js';
import { type TimeCursor, takeNew } from '../ingest/time-cursor.js';
import type { Logger } from '../logger.js';
import type { CollectorMetrics } from '../observability/collector-metrics.js';
import type { CollectedKey } from './collect-config.js';
import { type CursorKind, type CursorStore, cursorField } from './cursor-store.js';

export class KeyCollector {
  private stopped = false;

  constructor(
    private readonly client: Exchange,
    private readonly key: CollectedKey,
    private readonly cursors: CursorStore,
    private readonly publish: (events: AccountEvent[]) => Promise<void>,
    private readonly metrics: CollectorMetrics,
    private readonly retry: RequestPolicy,
    private readonly log: Logger,
    /** Credential strings, scrubbed from any error message that is logged. */
    private readonly secrets: readonly string[],
  ) {}

  stop(): void {
    this.stopped = true;
  }

  /** One round over the key's symbols; returns how many events were published. */
  async pollOnce(): Promise<number> {
    const { exchange, accountId, apiKeyId } = this.key;
    const ctx = { exchange, accountId, apiKeyId };
    const stored = await this.cursors.load(this.key);
    const moved = new Map<string, TimeCursor>();
    const out: AccountEvent[] = [];
    const take = (symbol: string, kind: CursorKind, events: AccountEvent[]) => {
      const field = cursorField(symbol, kind);
      const taken = takeNew(stored.get(field), events);
      if (taken.cursor) moved.set(field, taken.cursor);
      out.push(...taken.fresh);
    };
    for (const symbol of this.key.symbols) {
      const since = (kind: CursorKind) => stored.get(cursorField(symbol, kind))?.since;
      const trades = await this.request('fetchMyTrades', () =>
        this.client.fetchMyTrades(symbol, since('trades')),
      );
      if (trades) take(symbol, 'trades', this.valid(trades.map((t) => fillFromCcxtTrade(t, ctx))));
      if (this.client.has.fetchOrders) {
        const orders = await this.request('fetchOrders', () =>
          this.client.fetchOrders(symbol, since('orders')),
        );
        if (orders) take(symbol, 'orders', this.valid(orders.map((o) => orderFromCcxtOrder(o, ctx))));
      }
    }
    // Orders before fills at the same time: the detectors see an order before its fills.
    out.sort((a, b) => a.timestamp - b.timestamp || (a.kind === b.kind ? 0 : a.kind === 'order' ? -1 : 1));
    if (out.length > 0) await this.publish(out);
    await this.cursors.save(this.key, moved);
    for (const e of out) this.metrics.events.inc({ exchange, kind: e.kind });
    return out.length;
  }

  private valid(results: ReturnType<typeof fillFromCcxtTrade>[]): AccountEvent[] {
    const out: AccountEvent[] = [];
    for (const r of results) {
      if (r.ok) out.push(r.event as AccountEvent);
      else {
        this.metrics.events.inc({ exchange: this.key.exchange, kind: 'invalid' });
        this.log.warn(
          { apiKeyId: this.key.apiKeyId, code: r.code, reason: r.reason },
          'exchange item does not fit the contract, skipped',
        );
      }
    }
    return out;
  }

  private request<T>(method: string, call: () => Promise<T>): Promise<T | undefined> {
    return ccxtRequest(
      { exchange: this.key.exchange, method },
      call,
      this.retry,
      () => this.stopped,
      this.metrics.requests,
      this.log,
      this.secrets,
    );
  }
}
