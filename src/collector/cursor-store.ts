/**
 * Where the collector has got to, per key and symbol, in Redis: one hash per key, one field per
 * `<symbol>|<trades|orders>`, read and written in one round trip per poll.
 */
import type { Redis } from 'ioredis';
import { StoreError } from '../errors.js';
import type { TimeCursor } from '../ingest/time-cursor.js';
import { collectorCursorKey } from '../state/keys.js';
import type { CollectedKey } from './collect-config.js';

export type CursorKind = 'trades' | 'orders';
export const cursorField = (symbol: string, kind: CursorKind) => `${symbol}|${kind}`;

export class CursorStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(k: CollectedKey): string {
    return collectorCursorKey(this.prefix, k.exchange, k.accountId, k.apiKeyId);
  }

  async load(k: CollectedKey): Promise<Map<string, TimeCursor>> {
    try {
      const raw = await this.redis.hgetall(this.key(k));
      return new Map(Object.entries(raw).map(([f, v]) => [f, JSON.parse(v) as TimeCursor]));
    } catch (err) {
      throw new StoreError(`collector cursors unavailable: ${(err as Error).message}`, err);
    }
  }

  async save(k: CollectedKey, cursors: Map<string, TimeCursor>): Promise<void> {
    if (cursors.size === 0) return;
    const fields = [...cursors].flatMap(([f, c]) => [f, JSON.stringify(c)]);
    try {
      await this.redis.hset(this.key(k), ...fields);
    } catch (err) {
      throw new StoreError(`collector cursors unavailable: ${(err as Error).message}`, err);
    }
  }
}
