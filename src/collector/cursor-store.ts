import type { Cluster, Redis } from 'ioredis';
/**
 * Where the collector has got to, per key and symbol, in Redis: one hash per key, one field per
 * `<symbol>|<trades|orders>`, read and written in one round trip per poll. A poll that publishes
 * first records itself as pending (its events, where they go, the cursors it will move to); the
 * pending record is cleared in the same transaction that moves the cursors, so a crash in between
 * leaves exactly what is needed to finish the poll without publishing anything twice.
 */
import { StoreError } from '../errors.js';
import type { AccountEvent } from '../events/schema.js';
import type { TimeCursor } from '../ingest/time-cursor.js';
import { collectorCursorKey } from '../state/keys.js';
import type { CollectedKey } from './collect-config.js';

export type CursorKind = 'trades' | 'orders';
export const cursorField = (symbol: string, kind: CursorKind) => `${symbol}|${kind}`;
const PENDING = '__pending';

/** One topic-partition a poll publishes to: from which offset, and what. */
export interface PollTarget {
  topic: string;
  partition: number;
  fromOffset: string;
  events: AccountEvent[];
}

export interface PendingPoll {
  batchId: string;
  cursors: Record<string, TimeCursor>;
  targets: PollTarget[];
}

export class CursorStore {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly prefix: string,
  ) {}

  private key(k: CollectedKey): string {
    return collectorCursorKey(this.prefix, k.exchange, k.accountId, k.apiKeyId);
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw new StoreError(`collector cursors unavailable: ${(err as Error).message}`, err);
    }
  }

  async load(k: CollectedKey): Promise<{ cursors: Map<string, TimeCursor>; pending?: PendingPoll }> {
    const raw = await this.call(() => this.redis.hgetall(this.key(k)));
    const cursors = new Map<string, TimeCursor>();
    let pending: PendingPoll | undefined;
    for (const [field, value] of Object.entries(raw)) {
      if (field === PENDING) pending = JSON.parse(value) as PendingPoll;
      else cursors.set(field, JSON.parse(value) as TimeCursor);
    }
    return pending ? { cursors, pending } : { cursors };
  }

  async begin(k: CollectedKey, pending: PendingPoll): Promise<void> {
    await this.call(() => this.redis.hset(this.key(k), PENDING, JSON.stringify(pending)));
  }

  /** Moves the cursors and clears any pending poll, atomically. */
  async commit(k: CollectedKey, cursors: ReadonlyMap<string, TimeCursor>): Promise<void> {
    const fields = [...cursors].flatMap(([f, c]) => [f, JSON.stringify(c)]);
    const tx = this.redis.multi();
    if (fields.length > 0) tx.hset(this.key(k), ...fields);
    tx.hdel(this.key(k), PENDING);
    const res = await this.call(() => tx.exec());
    const failed = res?.find(([e]) => e);
    if (!res || failed)
      throw new StoreError(`collector cursors not saved: ${failed?.[0]?.message ?? 'aborted'}`);
  }
}
