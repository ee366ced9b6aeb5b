import { describe, expect, it } from 'vitest';
import { loadDetectionConfig } from '../../src/config/detection.js';
import { ACCOUNT_DETECTORS } from '../../src/detection/account-detectors.js';
import { DetectionEngine } from '../../src/detection/engine.js';
import type { InputEvent } from '../../src/events/schema.js';
import { MarketState } from '../../src/market/market-state.js';
import { processAll } from '../../src/replay/process-all.js';
import { syntheticScenario } from '../../src/simulate/synthetic-scenario.js';
import type { AccountState } from '../../src/state/account-state.js';
import { MemoryBaselineStore } from '../../src/state/memory-store.js';
import { DAY, fill, flatTape, MIN, order, print, T0 } from '../helpers/events.js';

const cfg = loadDetectionConfig();

function engine(store = new MemoryBaselineStore(DAY * 15)) {
  return { store, engine: new DetectionEngine(cfg, store, new MarketState(cfg)) };
}

async function run(e: DetectionEngine, events: InputEvent[], firstSeq = 1, batch = 500) {
  return (await processAll(e, events, { batchSize: batch, firstSeq })).alerts;
}

/** A week-old quiet account, a thin market, then 6 buys 1 s apart at +80 % in that market. */
function attackStream(): InputEvent[] {
  const history = Array.from({ length: 20 }, (_, i) =>
    order({ symbol: 'ETH/BTC', price: 0.07, timestamp: T0 - 5 * DAY + i * 3_600_000 }),
  );
  const tape = flatTape(1e-6, T0, 120);
  const attack = Array.from({ length: 6 }, (_, i) => [
    order({ id: `attack-${i}`, price: 1.8e-6, timestamp: T0 + i * 1_000 }),
    fill({ order: `attack-${i}`, price: 1.8e-6, timestamp: T0 + i * 1_000 + 200 }),
  ]).flat();
  return [...history, ...tape, ...attack].sort((a, b) => a.timestamp - b.timestamp);
}

describe('detection engine', () => {
  it('recommends revoking the key of an account made to buy a thin pair far above its price', async () => {
    const alerts = await run(engine().engine, attackStream());
    const revoke = alerts.find((a) => a.recommendation === 'revoke_key');
    expect(revoke).toBeDefined();
    expect(revoke).toMatchObject({
      accountId: 'acct-1',
      apiKeyId: 'key-1',
      symbol: 'YOYOW/BTC',
      severity: 'critical',
    });
    expect(revoke!.signals.map((s) => s.detector).sort()).toContain('off_market_fill');
    expect(revoke!.eventIds.length).toBeGreaterThan(0);
    expect(revoke!.valueAtRisk).toBeGreaterThan(0);
    // In one unit for ranking across pairs: BTC at size.quoteUsd.
    expect(revoke!.valueAtRiskUsd).toBeCloseTo(revoke!.valueAtRisk! * cfg.size.quoteUsd.BTC!, 0);
    expect(JSON.stringify(revoke)).not.toMatch(/secret|passphrase/i);
  });

  it('revokes on the first fill paid far above everyone in a new thin pair, not on the limit offered', async () => {
    const history = attackStream().filter((e) => e.kind === 'trade' || e.symbol === 'ETH/BTC');
    const limit = order({ id: 'o-far', price: 1.8e-6, timestamp: T0, status: 'open' });
    const paid = fill({ order: 'o-far', price: 1.8e-6, timestamp: T0 + 300 });
    const alerts = await run(engine().engine, [...history, limit, paid]);
    // The limit order is an offer (a pump bot caps its buys high): its fill is the price paid.
    expect(alerts.map((a) => [a.recommendation, a.timestamp])).toEqual([['revoke_key', T0 + 300]]);
    expect(alerts[0]!.signals.map((s) => s.detector)).toEqual(
      expect.arrayContaining(['off_market_fill', 'above_live_market', 'new_illiquid_pair']),
    );
  });

  it('reviews the same fill above a crowd: others printing every second (followers climb books, pumps get swept)', async () => {
    const history = attackStream().filter((e) => e.kind === 'trade' || e.symbol === 'ETH/BTC');
    const crowd = Array.from({ length: 60 }, (_, i) =>
      print({ price: 1e-6, timestamp: T0 - 60_000 + i * 1_000 }),
    );
    const limit = order({ id: 'o-far', price: 1.8e-6, timestamp: T0, status: 'open' });
    const paid = fill({ order: 'o-far', price: 1.8e-6, timestamp: T0 + 300 });
    const events = [...history, ...crowd, limit, paid].sort((a, b) => a.timestamp - b.timestamp);
    const alerts = await run(engine().engine, events);
    expect(alerts.map((a) => [a.recommendation, a.timestamp])).toEqual([['review', T0 + 300]]);
  });

  it('takes a pair nobody else traded for the last 30 min for the quietest market: a burst far off the reference there is a drain', async () => {
    // The attack's six orders with the tape stopped 40 min before: a reference, but no live market at
    // all. Rule 6 (a stream of orders far off the reference into a new thin pair above a quiet
    // market) holds; read as a busy market, nothing would.
    const events = attackStream().map((e) =>
      e.kind === 'trade' ? { ...e, timestamp: e.timestamp - 40 * MIN } : e,
    );
    const alerts = await run(engine().engine, events);
    const revoke = alerts.find((a) => a.recommendation === 'revoke_key');
    expect(revoke?.signals.map((s) => s.detector)).toEqual(
      expect.arrayContaining(['off_market_fill', 'trade_burst', 'new_illiquid_pair']),
    );
    expect(revoke?.signals.some((s) => s.detector === 'above_live_market')).toBe(false);
  });

  it('gives the same alerts and ids for the same input, whatever the batch size', async () => {
    const events = syntheticScenario({
      seed: 5,
      days: 2,
      accounts: 20,
      victims: 1,
      attackStrength: 'strong',
    }).events;
    const a = await run(engine().engine, events, 1, 1000);
    const b = await run(engine().engine, events, 1, 137);
    expect(a.length).toBeGreaterThan(0);
    expect(b).toEqual(a);
  });

  it('does not count a redelivered batch twice', async () => {
    const { store, engine: e } = engine();
    const events = attackStream();
    await run(e, events);
    const before = (await store.loadAccounts([{ exchange: 'binance', accountId: 'acct-1' }])).get(
      'binance\u0000acct-1',
    )!;
    const replayed = await e.evaluate(events.map((event, i) => ({ seq: i + 1, event })));
    expect(replayed.alreadyApplied).toBe(32); // 20 orders of history, 6 orders and their 6 fills
    expect(replayed.alerts).toEqual([]);
    expect(await e.commit(replayed)).toBe(0);
    const after = (await store.loadAccounts([{ exchange: 'binance', accountId: 'acct-1' }])).get(
      'binance\u0000acct-1',
    )!;
    expect(after).toEqual(before);
    expect(after.state.orders).toBe(26);
  });

  it('raises one review per account and pattern a day, unless the evidence grows', async () => {
    const history = Array.from({ length: 20 }, (_, i) =>
      order({ symbol: 'ETH/BTC', price: 0.07, timestamp: T0 - 5 * DAY + i * 3_600_000 }),
    );
    // A thin market printing every minute for two days; single buys at +15 % over it (off the
    // reference and above everyone else, not far above: a review each, not a revoke).
    const tape = [
      ...flatTape(1e-6, T0 + 2 * 3_600_000, 180),
      ...flatTape(1e-6, T0 + DAY + 2 * 3_600_000, 180),
    ];
    const buy = (at: number) => fill({ price: 1.15e-6, timestamp: at });
    const events = [...history, ...tape, buy(T0), buy(T0 + 20 * 60_000), buy(T0 + DAY)].sort(
      (a, b) => a.timestamp - b.timestamp,
    );
    const reviews = (await run(engine().engine, events)).filter((a) => a.recommendation === 'review');
    expect(reviews.map((a) => a.timestamp)).toEqual([T0, T0 + DAY]);
  });

  it('does not repeat an alert of the same level within the cooldown', async () => {
    const alerts = await run(engine().engine, attackStream());
    expect(alerts.filter((a) => a.recommendation === 'revoke_key')).toHaveLength(1);
  });

  it('reports an event whose processing fails and goes on with the batch', async () => {
    const { store, engine: e } = engine();
    // A corrupted baseline in the store (e.g. written by a broken release) makes folding throw.
    await store.saveAccounts([
      {
        exchange: 'binance',
        accountId: 'broken',
        positions: { replay: 0 },
        state: { v: 1 } as unknown as AccountState,
      },
    ]);
    const events = [
      order({ accountId: 'broken', timestamp: T0 }),
      order({ accountId: 'fine', timestamp: T0 + 1 }),
    ];
    const outcome = await e.evaluate(events.map((event, i) => ({ seq: i + 1, event })));
    expect(outcome.failures).toHaveLength(1);
    expect(outcome.failures[0]).toMatchObject({ code: 'KG_ERR_DETECTOR_FAILED', seq: 1 });
    expect(outcome.updates.map((u) => u.accountId)).toContain('fine');
  });

  it('a detector that throws is reported while the others still score and the alert still comes', async () => {
    const broken = {
      name: 'key_context' as const,
      score: () => {
        throw new Error('corrupt key map');
      },
    };
    const detectors = [...ACCOUNT_DETECTORS.filter((d) => d.name !== 'key_context'), broken];
    const store = new MemoryBaselineStore(DAY * 15);
    const e = new DetectionEngine(cfg, store, new MarketState(cfg), { detectors });
    const events = attackStream();
    const outcome = await processAll(e, events, { batchSize: events.length });
    expect(outcome.alerts.some((a) => a.recommendation === 'revoke_key')).toBe(true);
    expect(outcome.alerts.flatMap((a) => a.signals.map((s) => s.detector))).not.toContain('key_context');
    const accountEvents = events.filter((x) => x.kind === 'order' || x.kind === 'fill').length;
    expect(outcome.failures).toHaveLength(accountEvents);
    expect(outcome.failures[0]).toMatchObject({ code: 'KG_ERR_DETECTOR_FAILED' });
    expect(outcome.failures[0]!.reason).toMatch(/^detector key_context failed .*corrupt key map/);
  });

  it('leaves the stored baseline untouched until commit', async () => {
    const { store, engine: e } = engine();
    await run(e, [order({ timestamp: T0 })]);
    const outcome = await e.evaluate([{ seq: 2, event: order({ timestamp: T0 + 1 }) }]);
    expect(outcome.updates).toHaveLength(1);
    const stored = (await store.loadAccounts([{ exchange: 'binance', accountId: 'acct-1' }])).get(
      'binance\u0000acct-1',
    )!;
    expect(stored.state.orders).toBe(1);
  });
});
