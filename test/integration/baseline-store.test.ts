import { randomUUID } from 'node:crypto';
import { type Cluster, Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { loadDetectionConfig } from '../../src/config/detection.js';
import { DetectionEngine } from '../../src/detection/engine.js';
import { MarketState } from '../../src/market/market-state.js';
import { processAll } from '../../src/replay/process-all.js';
import { syntheticScenario } from '../../src/simulate/synthetic-scenario.js';
import { newAccountState } from '../../src/state/account-state.js';
import { accountKey, type BaselineStore } from '../../src/state/baseline-store.js';
import { keySlot } from '../../src/state/key-slot.js';
import {
  accountStateKey,
  breakerKeys,
  campaignGroupKey,
  collectorCursorKey,
  disabledEndpointsKey,
  stateEpochKey,
} from '../../src/state/keys.js';
import { MemoryBaselineStore } from '../../src/state/memory-store.js';
import { orderDigest } from '../../src/state/order-digests.js';
import { RedisBaselineStore } from '../../src/state/redis-store.js';
import { accountStateJson } from '../../src/state/stored-account.js';
import { readStateRecord } from '../helpers/state-records.js';

const cfg = loadDetectionConfig();
const opened: BaselineStore[] = [];
afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
});

const factories: Record<string, () => BaselineStore> = {
  memory: () => new MemoryBaselineStore(cfg.state.ttlSeconds * 1000),
  redis: () =>
    new RedisBaselineStore({
      url: inject('redisUrl'),
      keyPrefix: `test:${randomUUID()}:`,
      ttlSeconds: cfg.state.ttlSeconds,
    }),
  'redis cluster': () =>
    new RedisBaselineStore({
      url: inject('redisClusterUrl'),
      keyPrefix: `test:${randomUUID()}:`,
      ttlSeconds: cfg.state.ttlSeconds,
      replicaWait: { replicas: 1, timeoutMs: 5000 },
    }),
};

function make(kind: string): BaselineStore {
  const store = factories[kind]!();
  opened.push(store);
  return store;
}

function stateWith(orders: number) {
  const s = newAccountState(1_000);
  s.orders = orders;
  s.syms['YOYOW/BTC'] = { f: 1_000, l: 2_000, n: orders };
  return s;
}

// The same contract, run against the embedded store and against the real Redis.
describe.each(Object.keys(factories))('baseline store contract: %s', (kind) => {
  it('returns nothing for accounts it has never seen', async () => {
    const store = make(kind);
    expect((await store.loadAccounts([{ exchange: 'binance', accountId: 'nobody' }])).size).toBe(0);
    expect((await store.loadAccounts([])).size).toBe(0);
  });

  it('round-trips a batch of accounts', async () => {
    const store = make(kind);
    const updates = Array.from({ length: 300 }, (_, i) => ({
      exchange: i % 2 ? 'binance' : 'kucoin',
      accountId: `acct-${i}`,
      positions: { 'fills/0': i + 1 },
      state: stateWith(i),
    }));
    expect(await store.saveAccounts(updates)).toBe(300);
    const loaded = await store.loadAccounts(updates);
    expect(loaded.size).toBe(300);
    for (const u of updates)
      expect(loaded.get(accountKey(u))).toEqual({ positions: u.positions, state: u.state });
  });

  it('keeps exchanges apart and survives ids with braces and colons', async () => {
    const store = make(kind);
    const odd = { exchange: 'binance', accountId: 'a:{b}:c' };
    await store.saveAccounts([{ ...odd, positions: { replay: 1 }, state: stateWith(1) }]);
    await store.saveAccounts([
      { exchange: 'kucoin', accountId: 'a:{b}:c', positions: { replay: 1 }, state: stateWith(2) },
    ]);
    const loaded = await store.loadAccounts([odd, { exchange: 'kucoin', accountId: 'a:{b}:c' }]);
    expect(loaded.get(accountKey(odd))!.state.orders).toBe(1);
    expect(loaded.get(accountKey({ exchange: 'kucoin', accountId: 'a:{b}:c' }))!.state.orders).toBe(2);
  });

  it('ignores an update that is not newer than the stored one (redelivery)', async () => {
    const store = make(kind);
    const ref = { exchange: 'binance', accountId: 'acct-r' };
    expect(await store.saveAccounts([{ ...ref, positions: { replay: 10 }, state: stateWith(10) }])).toBe(1);
    expect(await store.saveAccounts([{ ...ref, positions: { replay: 10 }, state: stateWith(99) }])).toBe(0);
    expect(await store.saveAccounts([{ ...ref, positions: { replay: 7 }, state: stateWith(99) }])).toBe(0);
    expect((await store.loadAccounts([ref])).get(accountKey(ref))).toEqual({
      positions: { replay: 10 },
      state: stateWith(10),
    });
    expect(await store.saveAccounts([{ ...ref, positions: { replay: 11 }, state: stateWith(11) }])).toBe(1);
  });

  it('keeps one position per input source', async () => {
    const store = make(kind);
    const ref = { exchange: 'binance', accountId: 'acct-p' };
    expect(await store.saveAccounts([{ ...ref, positions: { 'orders/3': 100 }, state: stateWith(1) }])).toBe(
      1,
    );
    // Another topic-partition has its own offsets: a lower number there is still new.
    expect(await store.saveAccounts([{ ...ref, positions: { 'fills/3': 5 }, state: stateWith(2) }])).toBe(1);
    expect(await store.saveAccounts([{ ...ref, positions: { 'orders/3': 100 }, state: stateWith(9) }])).toBe(
      0,
    );
    // One update covering both sources: stale if it would move either back.
    expect(
      await store.saveAccounts([
        { ...ref, positions: { 'orders/3': 99, 'fills/3': 9 }, state: stateWith(9) },
      ]),
    ).toBe(0);
    const loaded = (await store.loadAccounts([ref])).get(accountKey(ref))!;
    expect(loaded).toEqual({ positions: { 'orders/3': 100, 'fills/3': 5 }, state: stateWith(2) });
  });

  it('gives a snapshot: changing a loaded state does not change the store', async () => {
    const store = make(kind);
    const ref = { exchange: 'binance', accountId: 'acct-s' };
    await store.saveAccounts([{ ...ref, positions: { replay: 1 }, state: stateWith(1) }]);
    const loaded = (await store.loadAccounts([ref])).get(accountKey(ref))!;
    loaded.state.orders = 1234;
    expect((await store.loadAccounts([ref])).get(accountKey(ref))!.state.orders).toBe(1);
  });

  it('gives the same alerts as the other store for the same stream', async () => {
    const events = syntheticScenario({
      seed: 21,
      days: 2,
      accounts: 25,
      victims: 1,
      attackStrength: 'strong',
    }).events;
    const run = async (store: BaselineStore) =>
      (await processAll(new DetectionEngine(cfg, store, new MarketState(cfg)), events, { batchSize: 1000 }))
        .alerts;
    const here = await run(make(kind));
    const there = await run(make(kind === 'memory' ? 'redis' : 'memory'));
    expect(here.some((a) => a.recommendation === 'revoke_key')).toBe(true);
    expect(here).toEqual(there);
  });
});

describe('redis store specifics', () => {
  it('reads and writes a whole batch in one round trip each, with a TTL, in one slot per account', async () => {
    const prefix = `test:${randomUUID()}:`;
    const store = new RedisBaselineStore({ url: inject('redisUrl'), keyPrefix: prefix, ttlSeconds: 3600 });
    opened.push(store);
    const refs = Array.from({ length: 500 }, (_, i) => ({ exchange: 'binance', accountId: `acct-${i}` }));
    await store.loadAccounts(refs);
    await store.saveAccounts(
      refs.map((r, i) => ({ ...r, positions: { replay: i + 1 }, state: stateWith(i) })),
    );
    expect(store.roundTrips).toBe(2);
    const key = accountStateKey(prefix, refs[7]!);
    expect(key).toBe(`${prefix}acct:{binance:acct-7}:state`);
    const ttl = await store.redis.ttl(key);
    expect(ttl).toBeGreaterThan(3500);
    expect(ttl).toBeLessThanOrEqual(3600);
  });

  it('reads a state still in the older hash layout, refuses a stale update against its positions, and rewrites it as one record', async () => {
    const prefix = `test:${randomUUID()}:`;
    const store = new RedisBaselineStore({ url: inject('redisUrl'), keyPrefix: prefix, ttlSeconds: 3600 });
    opened.push(store);
    const older = { exchange: 'binance', accountId: 'acct-old' };
    const current = { exchange: 'binance', accountId: 'acct-new' };
    const olderKey = accountStateKey(prefix, older);
    // What a worker before state records wrote: field s = the state (version 1: order ids in
    // `recent`), p:<source> = positions.
    const v1 = { ...stateWith(4), v: 1, recent: ['o-1', 'o-2'] };
    await store.redis.hset(olderKey, 's', JSON.stringify(v1), 'p:orders/3', '100', 'p:fills/3', '7');
    await store.saveAccounts([{ ...current, positions: { replay: 1 }, state: stateWith(1) }]);

    const loaded = await store.loadAccounts([older, current]);
    expect(loaded.get(accountKey(older))).toEqual({
      positions: { 'orders/3': 100, 'fills/3': 7 },
      state: { ...stateWith(4), recent: orderDigest('o-1') + orderDigest('o-2') },
    });
    expect(loaded.get(accountKey(current))).toEqual({ positions: { replay: 1 }, state: stateWith(1) });

    expect(await store.saveAccounts([{ ...older, positions: { 'orders/3': 99 }, state: stateWith(9) }])).toBe(
      0,
    );
    expect(await store.redis.type(olderKey)).toBe('hash');
    expect(
      await store.saveAccounts([{ ...older, positions: { 'orders/3': 101 }, state: stateWith(5) }]),
    ).toBe(1);
    expect(await store.redis.type(olderKey)).toBe('string');
    expect(await readStateRecord(store.redis, olderKey)).toEqual({
      positions: { 'orders/3': 101, 'fills/3': 7 },
      json: accountStateJson(stateWith(5)),
    });
    expect(await store.redis.ttl(olderKey)).toBeGreaterThan(3500);
  });

  it('keeps positions beyond 2^32 exactly and a state of any size in one string key', async () => {
    const prefix = `test:${randomUUID()}:`;
    const store = new RedisBaselineStore({ url: inject('redisUrl'), keyPrefix: prefix, ttlSeconds: 3600 });
    opened.push(store);
    const ref = { exchange: 'binance', accountId: 'acct-far' };
    const big = 2 ** 52 + 3;
    const state = stateWith(2);
    state.ev = Array.from({ length: 32 }, (_, i) => `order-${i}`.padEnd(36, 'x'));
    expect(await store.saveAccounts([{ ...ref, positions: { 'orders/0': big, '': 5 }, state }])).toBe(1);
    expect(await store.saveAccounts([{ ...ref, positions: { 'orders/0': big - 1 }, state }])).toBe(0);
    expect((await store.loadAccounts([ref])).get(accountKey(ref))).toEqual({
      positions: { 'orders/0': big, '': 5 },
      state,
    });
    expect(await store.redis.type(accountStateKey(prefix, ref))).toBe('string');
  });

  it('reports Redis being unreachable as a retriable store error', async () => {
    const store = new RedisBaselineStore({ url: 'redis://127.0.0.1:1', keyPrefix: 'x:', ttlSeconds: 60 });
    store.redis.on('error', () => {});
    await expect(store.loadAccounts([{ exchange: 'b', accountId: 'a' }])).rejects.toMatchObject({
      code: 'KG_ERR_STORE_UNAVAILABLE',
      retriable: true,
    });
    store.redis.disconnect();
  });
});

describe('redis cluster specifics', () => {
  it('sends one pipeline per master, puts every key layout in the slot the cluster computes, and returns once a replica holds the write', async () => {
    const prefix = `test:${randomUUID()}:`;
    const store = new RedisBaselineStore({
      url: inject('redisClusterUrl'),
      keyPrefix: prefix,
      ttlSeconds: 3600,
      replicaWait: { replicas: 1, timeoutMs: 5000 },
    });
    opened.push(store);
    const refs = Array.from({ length: 500 }, (_, i) => ({ exchange: 'binance', accountId: `acct-${i}` }));
    await store.loadAccounts(refs);
    expect(store.roundTrips).toBe(3); // 500 accounts and the epoch spread over three masters
    expect(
      await store.saveAccounts(
        refs.map((r, i) => ({ ...r, positions: { replay: i + 1 }, state: stateWith(i) })),
      ),
    ).toBe(500);
    expect(store.roundTrips).toBe(6);
    expect(await store.persistence()).toBe('aof');

    const redis = store.redis as Cluster;
    const keys = [
      ...refs.slice(0, 50).map((r) => accountStateKey(prefix, r)),
      accountStateKey(prefix, { exchange: 'bin{ance', accountId: 'a:{b}:c' }),
      stateEpochKey(prefix),
      ...breakerKeys(prefix),
      disabledEndpointsKey(prefix),
      campaignGroupKey(prefix, 'symbol:binance:YOYOW/BTC'),
      collectorCursorKey(prefix, 'binance', 'acct-1', 'key-1'),
      'no tag at all',
      'x{}y{z}',
    ];
    for (const key of keys) expect(keySlot(key), key).toBe(await redis.cluster('KEYSLOT', key));
    // The breaker's state is read in one pipeline, so all of it shares a slot.
    expect(new Set([...breakerKeys(prefix), disabledEndpointsKey(prefix)].map(keySlot)).size).toBe(1);

    // WAIT returned: the replica of the account's master already holds the state.
    const key = accountStateKey(prefix, refs[7]!);
    const master = redis.slots[keySlot(key)]!;
    const replica = new Redis(`redis://${master[1]}`);
    try {
      await replica.readonly();
      expect((await readStateRecord(replica, key))?.json).toBe(accountStateJson(stateWith(7)));
    } finally {
      replica.disconnect();
    }
  });
});

describe('memory store specifics', () => {
  it('forgets accounts idle for longer than the TTL of event time', async () => {
    const store = new MemoryBaselineStore(10_000);
    const old = stateWith(1);
    old.act.l = 1_000;
    const recent = stateWith(2);
    recent.act.l = 50_000;
    await store.saveAccounts([
      { exchange: 'b', accountId: 'old', positions: { replay: 1 }, state: old },
      { exchange: 'b', accountId: 'recent', positions: { replay: 2 }, state: recent },
    ]);
    store.sweep();
    expect(store.size).toBe(2); // no watermark yet: nothing is known to be idle
    store.advanceTo(50_000);
    store.sweep();
    expect(store.size).toBe(1);
  });

  it('measures idleness from the stream watermark, not from one account that claims a far-off time', async () => {
    const store = new MemoryBaselineStore(10_000);
    const normal = stateWith(1);
    normal.act.l = 40_000;
    const outlier = stateWith(2);
    outlier.act.l = 32_503_680_000_000; // the year 3000
    await store.saveAccounts([
      { exchange: 'b', accountId: 'normal', positions: { replay: 1 }, state: normal },
      { exchange: 'b', accountId: 'outlier', positions: { replay: 2 }, state: outlier },
    ]);
    store.advanceTo(45_000);
    store.sweep();
    expect(store.size).toBe(2);
  });
});
