import type { Redis } from 'ioredis';
import { StoreError } from '../errors.js';
import type { AccountState } from './account-state.js';
import type { AccountRef, AccountUpdate, BaselineStore, StoredAccount } from './baseline-store.js';
import { accountKey } from './baseline-store.js';
import type { ScriptCommands } from './commands/index.js';
import { accountStateKey } from './keys.js';
import { redisConnection } from './redis-connection.js';

export interface RedisStoreOptions {
  url: string;
  keyPrefix: string;
  ttlSeconds: number;
  /** Instrumentation: called after every round trip (metrics hang off this, not off the store). */
  onRoundTrip?: (operation: 'load' | 'save', seconds: number, ok: boolean) => void;
}

/**
 * Baselines in Redis: one hash per account (JSON state + one position per input source). A batch
 * is read with one pipeline of HGETALLs and written with one pipeline of `save-account` script calls: two round trips per
 * batch, whatever its size. Each call touches one account's slot, so this is Cluster-compatible.
 */
export class RedisBaselineStore implements BaselineStore {
  readonly kind = 'redis' as const;
  readonly redis: Redis & ScriptCommands;
  /** Round trips made so far (for benchmarks). */
  roundTrips = 0;

  constructor(private readonly opts: RedisStoreOptions) {
    this.redis = redisConnection(opts.url);
  }

  async loadAccounts(refs: readonly AccountRef[]): Promise<Map<string, StoredAccount>> {
    const out = new Map<string, StoredAccount>();
    if (refs.length === 0) return out;
    const pipeline = this.redis.pipeline();
    for (const ref of refs) pipeline.hgetall(accountStateKey(this.opts.keyPrefix, ref));
    const results = await this.exec(pipeline, 'load');
    refs.forEach((ref, i) => {
      const [err, value] = results[i]!;
      if (err) throw new StoreError(`loading ${ref.accountId}: ${err.message}`, err);
      const fields = value as Record<string, string>;
      if (fields.s === undefined) return;
      const positions: Record<string, number> = {};
      for (const [name, v] of Object.entries(fields))
        if (name.startsWith('p:')) positions[name.slice(2)] = Number(v);
      out.set(accountKey(ref), { positions, state: JSON.parse(fields.s) as AccountState });
    });
    return out;
  }

  async saveAccounts(updates: readonly AccountUpdate[]): Promise<number> {
    if (updates.length === 0) return 0;
    const pipeline = this.redis.pipeline() as ReturnType<Redis['pipeline']> & {
      saveAccount(
        key: string,
        json: string,
        ttl: number,
        ...sourcePositions: Array<string | number>
      ): unknown;
    };
    for (const u of updates) {
      const pairs = Object.entries(u.positions).flat();
      pipeline.saveAccount(
        accountStateKey(this.opts.keyPrefix, u),
        JSON.stringify(u.state),
        this.opts.ttlSeconds,
        ...pairs,
      );
    }
    const results = await this.exec(pipeline, 'save');
    let applied = 0;
    for (const [err, value] of results) {
      if (err) throw new StoreError(`saving account state: ${err.message}`, err, false);
      applied += Number(value);
    }
    return applied;
  }

  private async exec(
    pipeline: ReturnType<Redis['pipeline']>,
    what: 'load' | 'save',
  ): Promise<[Error | null, unknown][]> {
    this.roundTrips++;
    const started = performance.now();
    try {
      const results = await pipeline.exec();
      if (!results) throw new Error('pipeline returned nothing');
      this.opts.onRoundTrip?.(what, (performance.now() - started) / 1000, true);
      return results;
    } catch (err) {
      this.opts.onRoundTrip?.(what, (performance.now() - started) / 1000, false);
      throw new StoreError(`Redis ${what} failed: ${(err as Error).message}`, err);
    }
  }

  /** Readiness: Redis answers. */
  async ping(): Promise<boolean> {
    return (await this.redis.ping().catch(() => '')) === 'PONG';
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
