import type { Redis } from 'ioredis';
import type { AccountState } from './account-state.js';
import type { AccountRef, AccountUpdate, BaselineStore, StoredAccount } from './baseline-store.js';
import { accountKey } from './baseline-store.js';
import type { ScriptCommands } from './commands/index.js';
import { accountStateKey } from './keys.js';
import { type RedisErrorListener, redisConnection } from './redis-connection.js';
import { StateHashes } from './state-hashes.js';

export interface RedisStoreOptions {
  url: string;
  keyPrefix: string;
  ttlSeconds: number;
  /** Instrumentation: called after every round trip (metrics hang off this, not off the store). */
  onRoundTrip?: (operation: 'load' | 'save', seconds: number, ok: boolean) => void;
  /** Connection errors (the client reconnects by itself; commands meanwhile fail and are retried). */
  onConnectionError?: RedisErrorListener;
}

/** Baselines in Redis: one state hash per account (see StateHashes: two round trips per batch). */
export class RedisBaselineStore implements BaselineStore {
  readonly kind = 'redis' as const;
  readonly redis: Redis & ScriptCommands;
  private readonly hashes: StateHashes;

  constructor(private readonly opts: RedisStoreOptions) {
    this.redis = redisConnection(opts.url, opts.onConnectionError);
    this.hashes = new StateHashes(this.redis, opts.ttlSeconds, opts.onRoundTrip);
  }

  /** Round trips made so far (for benchmarks). */
  get roundTrips(): number {
    return this.hashes.roundTrips;
  }

  async loadAccounts(refs: readonly AccountRef[]): Promise<Map<string, StoredAccount>> {
    const out = new Map<string, StoredAccount>();
    const found = await this.hashes.load(refs.map((ref) => accountStateKey(this.opts.keyPrefix, ref)));
    refs.forEach((ref, i) => {
      const hash = found[i];
      if (hash)
        out.set(accountKey(ref), { positions: hash.positions, state: JSON.parse(hash.json) as AccountState });
    });
    return out;
  }

  async saveAccounts(updates: readonly AccountUpdate[]): Promise<number> {
    return this.hashes.save(
      updates.map((u) => ({
        key: accountStateKey(this.opts.keyPrefix, u),
        json: JSON.stringify(u.state),
        positions: u.positions,
      })),
    );
  }

  /** Readiness: Redis answers. */
  async ping(): Promise<boolean> {
    return (await this.redis.ping().catch(() => '')) === 'PONG';
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
