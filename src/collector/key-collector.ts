/**
 * Collects one connected key's own trades and orders through ccxt (`fetchMyTrades`, `fetchOrders`
 * since the stored cursor), turns them into contract events for the key's account, publishes them
 * (acknowledged by Kafka), and only then moves the cursor in Redis. The poll is recorded as
 * pending before it publishes (see cursor-store.ts and poll-publisher.ts), so a crash at any point
 * is finished on restart: nothing is missed and nothing is published twice.
 */
import { randomUUID } from 'node:crypto';
import type { Exchange } from 'ccxt';
import type { AccountEvent } from '../events/schema.js';
import { fillFromCcxtTrade, orderFromCcxtOrder } from '../ingest/ccxt-events.js';
import { ccxtRequest, type RequestPolicy } from '../ingest/ccxt-request.js';
import { type TimeCursor, takeNew } from '../ingest/time-cursor.js';
import type { Logger } from '../logger.js';
import type { CollectorMetrics } from '../observability/collector-metrics.js';
import type { CollectedKey } from './collect-config.js';
import {
  type CursorKind,
  type CursorStore,
  cursorField,
  type PendingPoll,
  type PollTarget,
} from './cursor-store.js';
import type { PollPublisher } from './poll-publisher.js';

export class KeyCollector {
  private stopped = false;

  constructor(
    private readonly client: Exchange,
    private readonly key: CollectedKey,
    private readonly cursors: CursorStore,
    private readonly publisher: PollPublisher,
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
    const loaded = await this.cursors.load(this.key);
    let stored = loaded.cursors;
    if (loaded.pending) {
      const finished = await this.finishPending(loaded.pending);
      if (!finished) return 0; // could not tell yet whether it landed: publish nothing new meanwhile
      stored = new Map([...stored, ...Object.entries(loaded.pending.cursors)]);
    }
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
      if (this.client.has.fetchOrders || this.client.has.fetchClosedOrders) {
        const orders = await this.request('fetchOrders', () => this.fetchOrders(symbol, since('orders')));
        if (orders) take(symbol, 'orders', this.valid(orders.map((o) => orderFromCcxtOrder(o, ctx))));
      }
    }
    // Orders before fills at the same time: the detectors see an order before its fills.
    out.sort((a, b) => a.timestamp - b.timestamp || (a.kind === b.kind ? 0 : a.kind === 'order' ? -1 : 1));
    if (out.length > 0) {
      const targets = await this.publisher.plan(out);
      const batchId = randomUUID();
      await this.cursors.begin(this.key, { batchId, cursors: Object.fromEntries(moved), targets });
      await this.publisher.publish(batchId, targets);
    }
    await this.cursors.commit(this.key, moved);
    for (const e of out) this.metrics.events.inc({ exchange, kind: e.kind });
    return out.length;
  }

  /**
   * A poll that crashed between recording itself and moving its cursors: publish what did not
   * land (each target is one partition, written whole or not at all), then move the cursors.
   */
  private async finishPending(pending: PendingPoll): Promise<boolean> {
    const missing: PollTarget[] = [];
    for (const t of pending.targets) {
      const landed = await this.publisher.landed(pending.batchId, t);
      if (landed === undefined) {
        this.log.warn(
          { batchId: pending.batchId, topic: t.topic },
          'could not tell whether a pending poll was published; will check again',
        );
        return false;
      }
      if (!landed) missing.push(t);
    }
    if (missing.length > 0) await this.publisher.publish(pending.batchId, missing);
    await this.cursors.commit(this.key, new Map(Object.entries(pending.cursors)));
    this.log.info(
      { batchId: pending.batchId, republished: missing.length, targets: pending.targets.length },
      'finished a poll interrupted by a crash',
    );
    return true;
  }

  /** `fetchOrders` where the exchange has it (Binance), else open + closed orders (KuCoin). */
  private async fetchOrders(symbol: string, since: number | undefined) {
    if (this.client.has.fetchOrders) return this.client.fetchOrders(symbol, since);
    const open = this.client.has.fetchOpenOrders ? await this.client.fetchOpenOrders(symbol, since) : [];
    return [...open, ...(await this.client.fetchClosedOrders(symbol, since))];
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
