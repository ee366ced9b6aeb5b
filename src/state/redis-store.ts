import { randomUUID } from 'node:crypto';
import { Cluster } from 'ioredis';
import type { AccountRef, AccountUpdate, BaselineStore, StoredAccount } from './baseline-store.js';
import { accountKey } from './baseline-store.js';
import { accountStateKey, stateEpochKey } from './keys.js';
import { type RedisClient, type RedisErrorListener, redisConnection } from './redis-connection.js';
import { type ReplicaWait, StateRecords } from './state-records.js';
import { accountStateJson, parseAccountState } from './stored-account.js';

export interface RedisStoreOptions {
  url: string;
  keyPrefix: string;
  ttlSeconds: number;
  /** Instrumentation: called after every round trip (metrics hang off this, not off the store). */
  onRoundTrip?: (operation: 'load' | 'save', seconds: number, ok: boolean) => void;
  /** Connection errors (the client reconnects by itself; commands meanwhile fail and are retried). */
  onConnectionError?: RedisErrorListener;
  /** The baselines were lost (see `openEpoch`): count it, log it, alert on it. */
  onStateReset?: (reset: StateReset) => void;
  /** Replicas that must hold a batch's baselines before its offsets may be committed (see ReplicaWait). */
  replicaWait?: ReplicaWait;
}

export interface StateReset {
  reason: string;
  /** The epoch this process knew, if any, and the one now in force. */
  previousEpoch?: string;
  epoch: string;
}

/** A fresh epoch value: unique, and says when it began. */
function newEpoch(): string {
  return `${new Date().toISOString()} ${randomUUID()}`;
}

/** Baselines in Redis: one state record per account (see StateRecords: two round trips per batch). */
export class RedisBaselineStore implements BaselineStore {
  readonly kind = 'redis' as const;
  readonly redis: RedisClient;
  private readonly records: StateRecords;
  /** The state epoch this process works in (undefined until the first load or `openEpoch`). */
  private epoch?: string;
  private renewing?: Promise<void>;

  constructor(private readonly opts: RedisStoreOptions) {
    this.redis = redisConnection(opts.url, opts.onConnectionError);
    this.records = new StateRecords(this.redis, opts.ttlSeconds, {
      onRoundTrip: opts.onRoundTrip,
      replicaWait: opts.replicaWait,
    });
  }

  /** Round trips made so far (for benchmarks). */
  get roundTrips(): number {
    return this.records.roundTrips;
  }

  private get epochKey(): string {
    return stateEpochKey(this.opts.keyPrefix);
  }

  /**
   * Before consuming: adopts the deployment's state epoch, or writes it when there is none. No
   * epoch although the consumer group has already committed work (`processedBefore`) means Redis
   * lost the baselines while keyguard was stopped: reported as a state reset.
   */
  async openEpoch(processedBefore: boolean): Promise<void> {
    const candidate = newEpoch();
    if ((await this.redis.set(this.epochKey, candidate, 'NX')) === 'OK') {
      this.epoch = candidate;
      if (processedBefore)
        this.opts.onStateReset?.({
          reason:
            'Redis holds no state epoch although the consumer group has committed offsets: the baselines were lost while keyguard was stopped (Redis restarted without persistence, flushed, or a new prefix)',
          epoch: candidate,
        });
      return;
    }
    this.epoch = (await this.redis.get(this.epochKey)) ?? undefined;
  }

  /**
   * Every load reads the epoch in the same round trip. Gone: Redis lost its data under a running
   * worker; write a new one and report the reset. Changed: another process already did.
   */
  private async checkEpoch(seen: string | null, knownAtLoad: string | undefined): Promise<void> {
    if (seen !== null && seen === this.epoch) return;
    if (this.epoch !== knownAtLoad) return; // a concurrent batch of this process already dealt with it
    const previous = this.epoch;
    if (seen !== null) {
      this.epoch = seen;
      if (previous === undefined) return; // first sight (replay, a store opened without openEpoch)
      this.opts.onStateReset?.({
        reason: 'the state epoch changed: Redis lost the baselines and another worker noticed first',
        previousEpoch: previous,
        epoch: seen,
      });
      return;
    }
    // Concurrent batches of this process may all have read "gone": one of them writes the new epoch.
    if (this.renewing) return this.renewing;
    this.renewing = this.renewEpoch(previous).finally(() => {
      this.renewing = undefined;
    });
    return this.renewing;
  }

  private async renewEpoch(previous: string | undefined): Promise<void> {
    const candidate = newEpoch();
    const created = (await this.redis.set(this.epochKey, candidate, 'NX')) === 'OK';
    this.epoch = created ? candidate : ((await this.redis.get(this.epochKey)) ?? candidate);
    if (previous !== undefined)
      this.opts.onStateReset?.({
        reason:
          'the state epoch is gone from Redis: it lost every baseline (restarted without persistence, flushed, or failed over to an empty replica)',
        previousEpoch: previous,
        epoch: this.epoch,
      });
  }

  async loadAccounts(refs: readonly AccountRef[]): Promise<Map<string, StoredAccount>> {
    const out = new Map<string, StoredAccount>();
    const knownAtLoad = this.epoch;
    const { records: found, also } = await this.records.loadWith(
      refs.map((ref) => accountStateKey(this.opts.keyPrefix, ref)),
      this.epochKey,
    );
    await this.checkEpoch(also, knownAtLoad);
    refs.forEach((ref, i) => {
      const record = found[i];
      if (record)
        out.set(accountKey(ref), {
          positions: record.positions,
          state: parseAccountState(record.json),
        });
    });
    return out;
  }

  async saveAccounts(updates: readonly AccountUpdate[]): Promise<number> {
    return this.records.save(
      updates.map((u) => ({
        key: accountStateKey(this.opts.keyPrefix, u),
        json: accountStateJson(u.state),
        positions: u.positions,
      })),
    );
  }

  /**
   * How Redis persists the baselines: `aof` (append-only file), `rdb` (snapshots only: a crash loses
   * up to the snapshot interval), `none`, or `unknown` (CONFIG is not allowed, e.g. a managed
   * service; then its own settings apply). On a cluster, the weakest of its masters.
   */
  async persistence(): Promise<'aof' | 'rdb' | 'none' | 'unknown'> {
    const servers = this.redis instanceof Cluster ? this.redis.nodes('master') : [this.redis];
    const kinds = await Promise.all(servers.map((server) => serverPersistence(server)));
    for (const weakest of ['unknown', 'none', 'rdb'] as const) if (kinds.includes(weakest)) return weakest;
    return 'aof';
  }

  /** Readiness: Redis answers. */
  async ping(): Promise<boolean> {
    return (await this.redis.ping().catch(() => '')) === 'PONG';
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

async function serverPersistence(
  server: Pick<RedisClient, 'config'>,
): Promise<'aof' | 'rdb' | 'none' | 'unknown'> {
  try {
    const aof = (await server.config('GET', 'appendonly')) as string[];
    if (aof[1] === 'yes') return 'aof';
    const save = (await server.config('GET', 'save')) as string[];
    return save[1] ? 'rdb' : 'none';
  } catch {
    return 'unknown';
  }
}
