import { describe, expect, it } from 'vitest';
import { CampaignEngine } from '../../src/campaign/campaign-engine.js';
import { MemoryCampaignStore } from '../../src/campaign/campaign-store.js';
import { loadDetectionConfig } from '../../src/config/detection.js';
import { DetectionEngine } from '../../src/detection/engine.js';
import type { Alert } from '../../src/events/schema.js';
import { MarketState } from '../../src/market/market-state.js';
import { processAll } from '../../src/replay/process-all.js';
import { evaluate, firstRevokes, summarize } from '../../src/simulate/evaluation.js';
import { Rng } from '../../src/simulate/rng.js';
import { buildScenario } from '../../src/simulate/scenario.js';
import { syntheticIlliquidMarket } from '../../src/simulate/sim-market.js';
import { syntheticScenario } from '../../src/simulate/synthetic-scenario.js';
import { MemoryBaselineStore } from '../../src/state/memory-store.js';

const cfg = loadDetectionConfig();

async function detect(events: ReturnType<typeof syntheticScenario>['events']): Promise<Alert[]> {
  const engine = new DetectionEngine(cfg, new MemoryBaselineStore(1e12), new MarketState(cfg));
  return (await processAll(engine, events)).alerts;
}

describe('simulator', () => {
  it('is deterministic for a seed and labels every account', () => {
    const a = syntheticScenario({ seed: 9, days: 2, accounts: 10, victims: 2 });
    const b = syntheticScenario({ seed: 9, days: 2, accounts: 10, victims: 2 });
    expect(b.events).toEqual(a.events);
    expect(Object.keys(a.truth)).toHaveLength(12);
    for (let i = 1; i < a.events.length; i++)
      expect(a.events[i]!.timestamp).toBeGreaterThanOrEqual(a.events[i - 1]!.timestamp);
  });

  it('produces attacks whose fills are priced above the pre-attack market', () => {
    const s = syntheticScenario({ seed: 4, days: 2, accounts: 0, victims: 3, attackStrength: 'medium' });
    for (const t of Object.values(s.truth)) {
      expect(t.maliciousFills!.length).toBeGreaterThanOrEqual(5);
      for (const f of t.maliciousFills!) expect(f.valueMoved).toBeGreaterThan(0);
    }
  });

  it("makes victims' orders climb the attackers' ladder of asks in some campaigns, ending at the order's price", () => {
    let laddered = 0;
    for (let seed = 1; seed <= 8; seed++) {
      const s = syntheticScenario({ seed, days: 2, accounts: 0, victims: 3, attackStrength: 'medium' });
      const attackers = new Set(s.attackers);
      const limit = new Map<string, number>();
      const fills = new Map<string, Array<{ price: number; seller?: string }>>();
      for (const e of s.events) {
        if (e.kind === 'order' && e.side === 'buy' && e.price !== undefined) limit.set(e.id, e.price);
        if (e.kind === 'fill' && e.side === 'buy' && s.truth[e.accountId]?.kind === 'victim')
          fills.set(e.order, [
            ...(fills.get(e.order) ?? []),
            { price: e.price, seller: e.counterpartyAccountId },
          ]);
      }
      for (const [order, legs] of fills) {
        const fromAttackers = legs.filter((l) => l.seller && attackers.has(l.seller));
        if (new Set(fromAttackers.map((l) => l.price)).size < 2) continue;
        laddered++;
        // Cheaper asks first: the prices never fall, and the order ends at its own limit price.
        for (let i = 1; i < legs.length; i++)
          expect(legs[i]!.price).toBeGreaterThanOrEqual(legs[i - 1]!.price);
        expect(legs.at(-1)!.price).toBe(limit.get(order));
      }
    }
    expect(laddered).toBeGreaterThan(0);
  });
});

describe('simulator: the leaked label drained twice', () => {
  it('drains 2–5 more keys of the leaked label 12–48 h earlier in a pair of their own, leaving the rest of the scenario as it was', () => {
    const from = Date.UTC(2022, 10, 10);
    const to = from + 4 * 86_400_000;
    const build = (withEarlier: boolean) => {
      const rng = new Rng(3);
      const illiquid = syntheticIlliquidMarket('YOYOW/BTC', from, to, to - 0.25 * 86_400_000, rng);
      const earlier = syntheticIlliquidMarket('EARLY/BTC', from, to, to + 86_400_000, new Rng(4));
      return buildScenario({
        seed: 3,
        name: 's',
        illiquid,
        from,
        to,
        benignAccounts: 20,
        victims: 4,
        ...(withEarlier ? { earlier } : {}),
      });
    };
    const without = build(false);
    const withEarlier = build(true);
    expect(without.campaignStarts).toHaveLength(1);
    const [first, second] = withEarlier.campaignStarts;
    expect(second).toBe(without.campaignStarts[0]);
    expect(second! - first!).toBeGreaterThanOrEqual(12 * 3_600_000 - 1);
    expect(first!).toBeGreaterThanOrEqual(from + 86_400_000);
    const early = Object.entries(withEarlier.truth).filter(([, t]) => t.symbol === 'EARLY/BTC');
    expect(early.length).toBeGreaterThanOrEqual(2);
    expect(early.length).toBeLessThanOrEqual(5);
    for (const [id, t] of early) {
      expect(t.kind).toBe('victim');
      expect(t.attackStart!).toBeGreaterThanOrEqual(first!);
      const key = withEarlier.events.find((e) => e.kind === 'apikey' && e.accountId === id);
      expect(key && 'label' in key ? key.label : undefined).toBe(withEarlier.leakedLabel);
    }
    // Everything else is the scenario without it.
    const others = (s: typeof without) =>
      s.events.filter(
        (e) => !early.some(([id]) => 'accountId' in e && e.accountId === id) && e.symbol !== 'EARLY/BTC',
      );
    expect(others(withEarlier)).toEqual(others(without));
  });
});

describe('simulator: a copy-trading platform', () => {
  const from = Date.UTC(2022, 10, 10);
  const to = from + 4 * 86_400_000;
  const build = (copyPlatform: boolean, seed: number) => {
    const rng = new Rng(seed);
    const illiquid = syntheticIlliquidMarket('YOYOW/BTC', from, to, to - 0.25 * 86_400_000, rng);
    const quiet = syntheticIlliquidMarket('QUIET/BTC', from, to, to + 86_400_000, new Rng(seed + 1));
    return buildScenario({
      seed,
      name: 's',
      illiquid,
      quiet,
      from,
      to,
      benignAccounts: 40,
      victims: 4,
      exchangeView: seed % 2 === 0,
      copyPlatform,
    });
  };

  it("runs each signal on every follower's key in turn: one label, a few servers, a thin pair bought within seconds at rising prices", () => {
    let thinSignals = 0;
    for (const seed of [3, 4, 5]) {
      const s = build(true, seed);
      const followers = new Set(Object.keys(s.truth).filter((id) => s.truth[id]!.kind === 'copy_trader'));
      expect(followers.size).toBeGreaterThanOrEqual(8);
      const labels = new Set(
        s.events.flatMap((e) => (e.kind === 'apikey' && followers.has(e.accountId) ? [e.label] : [])),
      );
      expect(labels.size).toBe(1);
      const ips = new Set(
        s.events.flatMap((e) => (e.kind === 'order' && followers.has(e.accountId) ? [e.clientIp] : [])),
      );
      expect(ips.size).toBeLessThanOrEqual(3);
      // Thin pairs: the followers' first buys there, in the order the signal ran them.
      for (const symbol of ['YOYOW/BTC', 'QUIET/BTC']) {
        const placed = new Map<string, number>();
        const firstBuys = new Map<string, { t: number; price: number }>();
        for (const e of s.events) {
          if (e.kind === 'order') placed.set(e.id, e.timestamp);
          if (e.kind === 'fill' && e.symbol === symbol && e.side === 'buy' && followers.has(e.accountId))
            if (!firstBuys.has(e.accountId))
              firstBuys.set(e.accountId, { t: placed.get(e.order)!, price: e.price });
        }
        const buys = [...firstBuys.values()].sort((a, b) => a.t - b.t);
        if (buys.length < 2) continue;
        thinSignals++;
        // A signal runs on every follower within seconds, each later one paying more (a thin book).
        const first = buys[0]!;
        const signal = buys.filter((b) => b.t - first.t < 60_000);
        expect(signal.length).toBeGreaterThanOrEqual(2);
        for (let i = 1; i < signal.length; i++)
          expect(signal[i]!.price).toBeGreaterThan(signal[i - 1]!.price);
      }
    }
    expect(thinSignals).toBeGreaterThan(0);
  });

  it('adds the followers and leaves every other event of the scenario as it was', () => {
    const without = build(false, 3);
    const withCopy = build(true, 3);
    const followers = new Set(
      Object.keys(withCopy.truth).filter((id) => withCopy.truth[id]!.kind === 'copy_trader'),
    );
    expect(Object.keys(withCopy.truth)).toHaveLength(Object.keys(without.truth).length + followers.size);
    const isFollowers = (e: (typeof without.events)[number]) =>
      'accountId' in e && followers.has(e.accountId);
    // Their fills in thin pairs are public prints too (ids are the fill ids).
    const fillIds = new Set(
      withCopy.events.flatMap((e) => (e.kind === 'fill' && isFollowers(e) ? [e.id] : [])),
    );
    const others = withCopy.events.filter(
      (e) => !isFollowers(e) && !(e.kind === 'trade' && fillIds.has(e.id)),
    );
    expect(others).toEqual(without.events);
  });

  it('revokes no follower, freezes no account and raises no platform alert, campaigns and cohorts on', async () => {
    for (const seed of [3, 4]) {
      const s = build(true, seed);
      const engine = new DetectionEngine(cfg, new MemoryBaselineStore(1e12), new MarketState(cfg));
      const campaigns = new CampaignEngine(cfg.campaign, new MemoryCampaignStore());
      const { alerts } = await processAll(engine, s.events, { campaigns });
      const followers = new Set(Object.keys(s.truth).filter((id) => s.truth[id]!.kind === 'copy_trader'));
      const acted = alerts.filter(
        (a) =>
          followers.has(a.accountId) &&
          (a.recommendation === 'revoke_key' || a.recommendation === 'freeze_account'),
      );
      expect(acted).toEqual([]);
      expect(alerts.filter((a) => a.scope === 'platform' && a.cohort !== s.leakedLabel)).toEqual([]);
      // The detection ran: the victims were caught.
      expect(
        alerts.some((a) => s.truth[a.accountId]?.kind === 'victim' && a.recommendation === 'revoke_key'),
      ).toBe(true);
    }
  }, 60_000);
});

describe('detection on a simulated population (synthetic markets)', () => {
  it('revokes every strong and medium victim early and no benign account', async () => {
    const evals = [];
    for (const [seed, strength] of [
      [11, 'strong'],
      [12, 'medium'],
    ] as const) {
      const s = syntheticScenario({ seed, days: 3, accounts: 120, victims: 4, attackStrength: strength });
      evals.push(evaluate(s.truth, firstRevokes(await detect(s.events)), s));
    }
    const table = summarize(evals);
    expect(table.byStrength.strong!.recall).toBe(1);
    expect(table.byStrength.medium!.recall).toBe(1);
    expect(table.byStrength.strong!.medianFillsBefore).toBeLessThanOrEqual(2);
    expect(table.falseRevokeRate).toBe(0);
    expect(table.benignAccounts).toBe(240);
  }, 60_000);
});
