import { describe, expect, it } from 'vitest';
import { CampaignEngine, runCampaigns } from '../../src/campaign/campaign-engine.js';
import { MemoryCampaignStore } from '../../src/campaign/campaign-store.js';
import { foldKeyAnomaly, newCohortState } from '../../src/campaign/leak-cohort.js';
import { foldFirstBuy, newSymbolCampaignState } from '../../src/campaign/symbol-campaigns.js';
import { loadDetectionConfig, mergeConfig, parseDetectionConfig } from '../../src/config/detection.js';
import { keyContext } from '../../src/detectors/key-context.js';
import type { FirstBuy, KeyAnomaly, Observation } from '../../src/events/observation.js';
import { groupKeyOf, observationSchema } from '../../src/events/observation.js';
import { type Alert, alertSchema } from '../../src/events/schema.js';
import { applyAccountEvent, applyApiKeyEvent, newAccountState } from '../../src/state/account-state.js';
import { order } from '../helpers/events.js';

const cfg = loadDetectionConfig();
const T0 = Date.UTC(2022, 10, 14, 12);
const DAY = 86_400_000;

let fills = 0;
function buy(accountId: string, at: number, over: Partial<FirstBuy> = {}): FirstBuy {
  fills++;
  return {
    type: 'first_buy',
    exchange: 'binance',
    symbol: 'YOYOW/BTC',
    accountId,
    apiKeyId: `${accountId}-k1`,
    fillId: `f${fills}`,
    orderId: `o${fills}`,
    timestamp: at,
    price: 1.05e-6,
    amount: 1000,
    referencePrice: 1e-6,
    premium: 0.05,
    newClientIp: false,
    accountRecommendation: 'none',
    ...over,
  };
}

/** The accounts whose keys are revoked when these first buys arrive in this order (a fresh symbol state), each once. */
function revoked(order: FirstBuy[]): string[] {
  const state = newSymbolCampaignState();
  return [
    ...new Set(
      order
        .flatMap((o) => foldFirstBuy(state, o, cfg.campaign))
        .filter((a) => a.recommendation === 'revoke_key')
        .map((a) => a.accountId),
    ),
  ].sort();
}

/** The accounts frozen when these first buys arrive in this order (a fresh symbol state). */
function frozen(order: FirstBuy[]): string[] {
  const state = newSymbolCampaignState();
  return order
    .flatMap((o) => foldFirstBuy(state, o, cfg.campaign))
    .filter((a) => a.recommendation === 'freeze_account')
    .map((a) => a.accountId)
    .sort();
}

/** Two buys each (a driven buyer) paying 15 % above what others paid (evidenced), all from one counterparty. */
function campaignBuys(n: number, counterparty: string, start = T0): FirstBuy[] {
  const over = { counterpartyAccountId: counterparty, livePremium: 0.15 };
  return Array.from({ length: n }, (_, i) => [
    buy(`victim-${i}`, start + i * 60_000, over),
    buy(`victim-${i}`, start + i * 60_000 + 5_000, over),
  ]).flat();
}

/** Every alert of an in-process run over `obs` (sequence numbers from `next`), key anomalies folded in. */
async function runAll(
  engine: CampaignEngine,
  obs: readonly Observation[],
  next = counter(),
): Promise<Alert[]> {
  const alerts: Alert[] = [];
  await runCampaigns(engine, obs, next, (found) => {
    alerts.push(...found);
  });
  return alerts;
}

function counter(): () => number {
  let n = 0;
  return () => ++n;
}

describe('campaign fan-in (pure)', () => {
  it('opens one campaign once enough driven buyers bought from one counterparty: revoke every key, freeze the counterparty', () => {
    const state = newSymbolCampaignState();
    const alerts = campaignBuys(4, 'attacker').flatMap((o) => foldFirstBuy(state, o, cfg.campaign));
    for (const a of alerts) expect(alertSchema.safeParse(a).success).toBe(true);
    const revoked = alerts.filter((a) => a.recommendation === 'revoke_key');
    expect(revoked.map((a) => a.accountId).sort()).toEqual(['victim-0', 'victim-1', 'victim-2', 'victim-3']);
    expect(revoked.every((a) => a.apiKeyId === `${a.accountId}-k1`)).toBe(true);
    expect(alerts.filter((a) => a.recommendation === 'freeze_account').map((a) => a.accountId)).toEqual([
      'attacker',
    ]);
    expect(new Set(alerts.map((a) => a.campaignId)).size).toBe(1);
    // A redelivered observation changes nothing.
    expect(foldFirstBuy(state, { ...state.obs[0]! }, cfg.campaign)).toEqual([]);
  });

  it('ignores single clicks from a shared seller, buys at the market, and a counterparty whose buyers mostly come through the UI', () => {
    const state = newSymbolCampaignState();
    const singles = Array.from({ length: 6 }, (_, i) =>
      buy(`chaser-${i}`, T0 + i * 30_000, { counterpartyAccountId: 'dumper' }),
    );
    const atMarket = Array.from({ length: 6 }, (_, i) => [
      buy(`m-${i}`, T0 + i * 30_000, { counterpartyAccountId: 'maker', premium: 0.001 }),
      buy(`m-${i}`, T0 + i * 30_000 + 1000, { counterpartyAccountId: 'maker', premium: 0.001 }),
    ]).flat();
    const ui = Array.from({ length: 6 }, (_, i) => {
      const { apiKeyId: _k, ...rest } = buy(`ui-${i}`, T0 + i * 30_000, { counterpartyAccountId: 'seller' });
      return [rest, { ...rest, fillId: `${rest.fillId}b`, orderId: `${rest.orderId}b` }];
    }).flat();
    const alerts = [...singles, ...atMarket, ...ui].flatMap((o) => foldFirstBuy(state, o, cfg.campaign));
    expect(alerts).toEqual([]);
  });

  it("is not fooled by a pump's crowd: driven keyed buyers paying the crowd's price from one dumper", () => {
    const state = newSymbolCampaignState();
    const crowd = Array.from({ length: 8 }, (_, i) => [
      buy(`p-${i}`, T0 + i * 20_000, { counterpartyAccountId: 'dumper', premium: 1.5, livePremium: 0.01 }),
      buy(`p-${i}`, T0 + i * 20_000 + 3_000, {
        counterpartyAccountId: 'dumper',
        premium: 1.6,
        livePremium: 0.02,
      }),
    ]).flat();
    expect(crowd.flatMap((o) => foldFirstBuy(state, o, cfg.campaign))).toEqual([]);
  });

  it('counts victims caught by their own detectors, and attackers that split each victim between them', () => {
    // Each victim buys once from each attacker, at the crowd's price, but was revoked on its own.
    const obs = ['v1', 'v2', 'v3'].flatMap((id, i) =>
      ['attacker-1', 'attacker-2'].map((cp, j) =>
        buy(id, T0 + i * 60_000 + j * 3_000, {
          counterpartyAccountId: cp,
          livePremium: 0,
          accountRecommendation: j === 0 ? 'revoke_key' : 'none',
        }),
      ),
    );
    expect(frozen(obs)).toEqual(['attacker-1', 'attacker-2']);
  });

  it("freezes the seller of two victims caught alone in a pair the attackers pump alone, not two revoked buyers' seller in a crowd", () => {
    // Two victims, each revoked by its own detectors, both lifting one seller's asks.
    const victims = ['v1', 'v2'].flatMap((id, i) =>
      [0, 4_000].map((dt) =>
        buy(id, T0 + i * 60_000 + dt, {
          counterpartyAccountId: 'attacker',
          accountRecommendation: 'revoke_key',
        }),
      ),
    );
    expect(frozen(victims)).toEqual(['attacker']);
    // The same two in a public pump: a crowd of buyers without evidence buying from the same seller first.
    const crowd = Array.from({ length: 6 }, (_, i) =>
      buy(`p-${i}`, T0 - 60_000 + i * 5_000, { counterpartyAccountId: 'attacker', livePremium: 0 }),
    );
    expect(frozen([...crowd, ...victims])).toEqual([]);
    // One victim caught alone is not enough.
    expect(frozen(victims.filter((o) => o.accountId === 'v1'))).toEqual([]);
  });

  it('takes two buyers spending far beyond their habit, alone in the pair and buying from one seller, for a campaign', () => {
    // A careful campaign in a pair the attackers pump alone: two victims, neither revoked by its own
    // detectors, each spending 14× its largest order in two orders, from the attacker's asks.
    const victims = ['v1', 'v2'].flatMap((id, i) =>
      [0, 60_000].map((dt) =>
        buy(id, T0 + i * 120_000 + dt, { counterpartyAccountId: 'attacker', sizeRatio: 14, habitOrders: 20 }),
      ),
    );
    expect(revoked(victims)).toEqual(['v1', 'v2']);
    expect(frozen(victims)).toEqual(['attacker']);
    // Among a crowd of buyers without evidence (a public pump's dumper), two are no campaign.
    const crowd = Array.from({ length: 6 }, (_, i) =>
      buy(`p-${i}`, T0 - 60_000 + i * 5_000, { counterpartyAccountId: 'attacker', livePremium: 0 }),
    );
    expect(frozen([...crowd, ...victims])).toEqual([]);
    // One is not enough; nor are two whose evidence is a key's new IP (evidence only beside the
    // crowd the window holds when each buy is folded, which turns on the interleaving).
    expect(frozen(victims.filter((o) => o.accountId === 'v1'))).toEqual([]);
    const newIps = victims.map((o) => ({ ...o, sizeRatio: 1, clientIp: '203.0.113.9', newClientIp: true }));
    expect(revoked(newIps)).toEqual([]);
    const three = parseDetectionConfig(
      mergeConfig(cfg, { campaign: { counterparty: { minAccountsAlone: 3 } } }),
      'test',
    );
    const state = newSymbolCampaignState();
    expect(victims.flatMap((o) => foldFirstBuy(state, o, three.campaign))).toEqual([]);
  });

  it('freezes the account one victim caught alone was drained into above a quiet market, whichever way the crowd interleaves', () => {
    const victim = [0, 4_000].map((dt) =>
      buy('v1', T0 + dt, {
        counterpartyAccountId: 'attacker',
        accountRecommendation: 'revoke_key',
        livePremium: 0.2,
        quietMarket: true,
      }),
    );
    expect(frozen(victim)).toEqual(['attacker']);
    expect(revoked(victim)).toEqual(['v1']);
    // Buyers of a public pump in the window, before or after the victim's fills (another worker's
    // observations arrive when they do): the victim's own market at its fills decides.
    const crowd = Array.from({ length: 6 }, (_, i) =>
      buy(`p-${i}`, T0 - 60_000 + i * 5_000, { counterpartyAccountId: `dumper-${i % 2}`, livePremium: 0 }),
    );
    expect(frozen([...crowd, ...victim])).toEqual(['attacker']);
    expect(frozen([...victim, ...crowd])).toEqual(['attacker']);
    // A buyer of the attacker's asks with evidence of its own but not revoked (a key's new IP) does
    // not join what one victim opened, before or after it: whether that evidence holds turns on the
    // crowd the window holds when its buy is folded.
    const other = ['dumper-0', 'dumper-1', 'attacker', 'attacker'].map((cp, i) =>
      buy('b2', T0 - 30_000 + i * 3_000, {
        counterpartyAccountId: cp,
        clientIp: '10.9.9.9',
        newClientIp: true,
      }),
    );
    expect(revoked([...other, ...crowd, ...victim])).toEqual(['v1']);
    expect(revoked([...victim, ...other, ...crowd])).toEqual(['v1']);
    // One with evidence of its own (two orders at 15 % above what the others paid) joins either way.
    const drained = [0, 3_000].map((dt) =>
      buy('b3', T0 - 20_000 + dt, { counterpartyAccountId: 'attacker', livePremium: 0.15 }),
    );
    expect(revoked([...drained, ...crowd, ...victim])).toEqual(['b3', 'v1']);
    expect(revoked([...victim, ...crowd, ...drained])).toEqual(['b3', 'v1']);
    // Above a busy market (a pump's crowd printing), at the market price, or not revoked by its own
    // detectors: one buyer paying above the rest is no campaign.
    expect(frozen(victim.map((o) => ({ ...o, quietMarket: undefined })))).toEqual([]);
    expect(frozen(victim.map((o) => ({ ...o, livePremium: 0.02 })))).toEqual([]);
    expect(frozen(victim.map((o) => ({ ...o, accountRecommendation: 'review' as const })))).toEqual([]);
    const off = parseDetectionConfig(
      mergeConfig(cfg, { campaign: { counterparty: { oneRevokedAboveQuiet: false } } }),
      'test',
    );
    const state = newSymbolCampaignState();
    expect(victim.flatMap((o) => foldFirstBuy(state, o, off.campaign))).toEqual([]);
  });

  it("takes a platform's careful victims paying a few per cent above the last prints of a pair nobody else buys for a campaign, not a calmed pump's late buyers", () => {
    // Three victims of one label from their usual IP at their usual size, each two orders +5 % above
    // the reference and the pair's last few prints, in a quiet market: the attackers' own pump, seen
    // by a platform (no counterparty on the fills).
    const careful = (over: Partial<FirstBuy>) =>
      ['v0', 'v1', 'v2'].flatMap((id, i) =>
        [0, 8_000].map((dt) =>
          buy(id, T0 + i * 120_000 + dt, {
            label: 'platform-a',
            premium: 0.05,
            livePremium: 0.05,
            quietMarket: true,
            ...over,
          }),
        ),
      );
    expect(revoked(careful({}))).toEqual(['v0', 'v1', 'v2']);
    // Among a pump's prints (a busy market): the crowd.
    expect(revoked(careful({ quietMarket: undefined }))).toEqual([]);
    // Once a pump's tape has calmed, its late buyers pay what the last prints paid: no evidence.
    expect(revoked(careful({ livePremium: 0.01 }))).toEqual([]);
    // One order each is no drive.
    expect(revoked(careful({}).filter((_, i) => i % 2 === 0))).toEqual([]);
    // Where fills name a counterparty, this is no evidence (the freezes would weigh such members).
    const exchange = careful({ counterpartyAccountId: 'attacker' });
    expect(revoked(exchange)).toEqual([]);
    expect(frozen(exchange)).toEqual([]);
  });

  it("does not freeze a pump seller for a revoked buyer's first order lifted above a quiet market a second before the crowd", () => {
    // The buyer's first order lifts the seller's ask while the tape is still quiet; it keeps buying
    // from the crowd's sellers (the same one among them) in the busy market, and is revoked later.
    const buyer = (early: number) => [
      buy('pb', T0, { counterpartyAccountId: 'dumper', livePremium: 0.2, quietMarket: true, amount: early }),
      ...['dumper', 'seller-1', 'seller-2'].map((cp, i) =>
        buy('pb', T0 + (i + 1) * 5_000, {
          counterpartyAccountId: cp,
          livePremium: 0,
          amount: 1000,
          ...(i === 2 ? { accountRecommendation: 'revoke_key' as const } : {}),
        }),
      ),
      // Another of the crowd buys from the same seller: the fold that reads the seller's link.
      buy('p-1', T0 + 30_000, { counterpartyAccountId: 'dumper', livePremium: 0 }),
    ];
    // 800 of 3,800 above the quiet market: a sliver, though the seller had 47 % of its buys.
    expect(frozen(buyer(800))).toEqual([]);
    // 3,000 of 6,000 drained there: the victim's money went that way.
    expect(frozen(buyer(3000))).toEqual(['dumper']);
  });

  it('freezes a second attacker whose cheap levels made most of what it sold the members, though only its top asks were at the premium', () => {
    // Three victims of attacker-1. Two of them also lift attacker-2: a large cheap level in one order
    // (attacker-1's ask is that order's top: not the premium part) and the top ask of the next order.
    const obs = ['v1', 'v2', 'v3'].flatMap((id, i) => {
      const at = T0 + i * 60_000;
      const fill = (k: number, dt: number, cp: string, price: number, amount: number) =>
        buy(id, at + k * 5_000 + dt, {
          orderId: `${id}-o${k}`,
          livePremium: 0.15,
          counterpartyAccountId: cp,
          price,
          amount,
        });
      if (id === 'v3')
        return [fill(0, 0, 'attacker-1', 1.1e-6, 3000), fill(1, 0, 'attacker-1', 1.1e-6, 3000)];
      return [
        fill(0, 0, 'attacker-2', 1.05e-6, 5000),
        fill(0, 200, 'attacker-1', 1.1e-6, 3000),
        fill(1, 0, 'attacker-1', 1.05e-6, 3000),
        fill(1, 200, 'attacker-2', 1.15e-6, 100),
      ];
    });
    expect(frozen(obs)).toEqual(['attacker-1', 'attacker-2']);
  });

  it("without counterparties, two keys of a label caught alone open its campaign in a pair the attackers pump alone, not in a pump's crowd", () => {
    const label = { label: 'platform-a', livePremium: 0 };
    const caught = ['v1', 'v2'].flatMap((id, i) =>
      [0, 4_000].map((dt) =>
        buy(id, T0 + i * 60_000 + dt, { ...label, accountRecommendation: 'revoke_key' }),
      ),
    );
    // A third victim with evidence of its own short of a revoke: two orders from its key's new IP.
    const third = [0, 9_000].map((dt) =>
      buy('v3', T0 + 150_000 + dt, { ...label, newClientIp: true, clientIp: '10.0.0.9' }),
    );
    // A driven buyer of the same label with no evidence (a market maker entering the pair, its bids
    // filled near the attackers' painted price): the label alone is not evidence.
    const maker = [0, 30_000].map((dt) => buy('mm', T0 + 200_000 + dt, label));
    expect(revoked([...caught, ...third, ...maker])).toEqual(['v1', 'v2', 'v3']);
    // In a public pump: a crowd of buyers without evidence, some of the same label.
    const crowd = Array.from({ length: 8 }, (_, i) => [
      buy(`c-${i}`, T0 - 60_000 + i * 5_000, { ...label, label: i % 2 ? 'platform-a' : 'platform-b' }),
      buy(`c-${i}`, T0 - 58_000 + i * 5_000, { ...label, label: i % 2 ? 'platform-a' : 'platform-b' }),
    ]).flat();
    expect(revoked([...crowd, ...caught, ...third])).toEqual([]);
  });

  it('opens a label campaign on three evidenced keys of the label none of whose detectors revoked it, not on two', () => {
    // A small drain of a leaked platform's keys: each key two orders ≥ 10 % above what others paid.
    const drained = (ids: string[]) =>
      ids.flatMap((id, i) =>
        [0, 5_000].map((dt) => buy(id, T0 + i * 90_000 + dt, { label: 'platform-a', livePremium: 0.15 })),
      );
    expect(revoked(drained(['v1', 'v2', 'v3']))).toEqual(['v1', 'v2', 'v3']);
    expect(revoked(drained(['v1', 'v2']))).toEqual([]);
    // Keys of several labels: no label is the drained one.
    const mixed = drained(['v1', 'v2', 'v3']).map((o, i) => ({ ...o, label: `platform-${i >> 1}` }));
    expect(revoked(mixed)).toEqual([]);
  });

  it('does not take one order of the usual size from a new IP for a driven buyer (a pump buyer whose bot moved)', () => {
    const run = (sizeRatio: number) => {
      const state = newSymbolCampaignState();
      const obs = ['a', 'b', 'c'].map((id, i) =>
        buy(id, T0 + i * 60_000, {
          counterpartyAccountId: 'seller',
          clientIp: `198.51.100.${i + 1}`,
          newClientIp: true,
          livePremium: 0,
          sizeRatio,
        }),
      );
      return obs.flatMap((o) => foldFirstBuy(state, o, cfg.campaign)).map((a) => a.accountId);
    };
    expect(run(1)).toEqual([]);
    expect(run(3).sort()).toEqual(['a', 'b', 'c', 'seller']);
  });

  it("does not take a key's new IP for evidence in a pump's crowd unless the account spends beyond its habit", () => {
    // Three driven buyers (two orders each) from keys back from new IPs, buying from one seller at
    // the crowd's price, among a crowd of ten buyers with no evidence.
    const crowd = Array.from({ length: 10 }, (_, i) =>
      buy(`crowd-${i}`, T0 + i * 10_000, { counterpartyAccountId: `seller-${i}`, livePremium: 0 }),
    );
    const run = (withCrowd: boolean, sizeRatio: number) => {
      const state = newSymbolCampaignState();
      const back = ['a', 'b', 'c'].flatMap((id, i) =>
        [0, 4_000].map((dt) =>
          buy(id, T0 + 120_000 + i * 60_000 + dt, {
            counterpartyAccountId: 'seller',
            clientIp: `198.51.100.${i + 1}`,
            newClientIp: true,
            livePremium: 0,
            sizeRatio,
          }),
        ),
      );
      return [...(withCrowd ? crowd : []), ...back]
        .flatMap((o) => foldFirstBuy(state, o, cfg.campaign))
        .map((a) => a.accountId)
        .sort();
    };
    expect(run(true, 1.5)).toEqual([]);
    // Beyond their habit, or with no crowd around (a pair the attackers pump alone): a campaign.
    expect(run(true, 4)).toEqual(['a', 'b', 'c', 'seller']);
    expect(run(false, 1.5)).toEqual(['a', 'b', 'c', 'seller']);
  });

  it('counts driven buyers spending far beyond their usual largest order, not those spending their usual', () => {
    const run = (sizeRatio: number) => {
      const state = newSymbolCampaignState();
      const obs = ['a', 'b', 'c'].flatMap((id, i) =>
        [0, 4_000].map((dt) =>
          buy(id, T0 + i * 60_000 + dt, { counterpartyAccountId: 'seller', livePremium: 0, sizeRatio }),
        ),
      );
      return obs
        .flatMap((o) => foldFirstBuy(state, o, cfg.campaign))
        .map((a) => `${a.accountId}:${a.recommendation}`);
    };
    expect(run(1.5)).toEqual([]);
    expect(run(8).sort()).toEqual(['a:revoke_key', 'b:revoke_key', 'c:revoke_key', 'seller:freeze_account']);
  });

  it("in a pump's crowd, takes a spend beyond a habit of one order for evidence only far beyond it (a few orders of the usual size are not)", () => {
    // Three driven buyers (two orders each) from one seller at the crowd's price, spending 9× their
    // largest order — or, from a key's new IP, 4× — among a crowd of ten buyers with no evidence.
    const crowd = Array.from({ length: 10 }, (_, i) =>
      buy(`crowd-${i}`, T0 + i * 10_000, { counterpartyAccountId: `seller-${i}`, livePremium: 0 }),
    );
    const run = (
      withCrowd: boolean,
      habitOrders: number,
      over: (i: number) => Partial<FirstBuy> = () => ({ sizeRatio: 9 }),
    ) => {
      const state = newSymbolCampaignState();
      const buyers = ['a', 'b', 'c'].flatMap((id, i) =>
        [0, 4_000].map((dt) =>
          buy(id, T0 + 120_000 + i * 60_000 + dt, {
            counterpartyAccountId: 'seller',
            livePremium: 0,
            habitOrders,
            ...over(i),
          }),
        ),
      );
      return [...(withCrowd ? crowd : []), ...buyers]
        .flatMap((o) => foldFirstBuy(state, o, cfg.campaign))
        .map((a) => a.accountId)
        .sort();
    };
    const campaign = ['a', 'b', 'c', 'seller'];
    expect(run(true, 1)).toEqual([]);
    // Each from a server of its own (three keys new on one IP are a link of their own).
    const fromNewIp = (i: number) => ({ sizeRatio: 4, clientIp: `198.51.100.${i + 1}`, newClientIp: true });
    expect(run(true, 1, fromNewIp)).toEqual([]);
    // A habit known from more orders, or no crowd around (a pair the attackers pump alone): a campaign.
    expect(run(true, 2)).toEqual(campaign);
    expect(run(true, 2, fromNewIp)).toEqual(campaign);
    expect(run(false, 1)).toEqual(campaign);
    // Far beyond the one order (a drain, not a few orders of its size): a campaign.
    expect(run(true, 1, () => ({ sizeRatio: cfg.campaign.thinHabitSizeRatio }))).toEqual(campaign);
    // Observations from before the habit was reported are read as they were.
    expect(run(true, 1, () => ({ sizeRatio: 9, habitOrders: undefined }))).toEqual(campaign);
  });

  it('freezes each attacker that sold to two members, not a seller that serves the crowd', () => {
    // The crowd buys a lot from a dumper (single clicks: not evidenced).
    const crowd = Array.from({ length: 10 }, (_, i) =>
      buy(`crowd-${i}`, T0 + i * 1_000, { counterpartyAccountId: 'dumper', amount: 50_000 }),
    );
    // Six victims, keys driven from one new IP; each bought from one of three attackers, and two of
    // them a little from the dumper too.
    const victims = Array.from({ length: 6 }, (_, i) => {
      const over = { clientIp: '203.0.113.7', newClientIp: true };
      const at = T0 + 20_000 + i * 30_000;
      return [
        buy(`v${i}`, at, { ...over, counterpartyAccountId: `attacker-${i % 3}`, amount: 3000 }),
        buy(`v${i}`, at + 2_000, {
          ...over,
          counterpartyAccountId: i < 2 ? 'dumper' : `attacker-${i % 3}`,
          amount: 1000,
        }),
      ];
    }).flat();
    expect(frozen([...crowd, ...victims])).toEqual(['attacker-0', 'attacker-1', 'attacker-2']);
  });

  it("freezes the seller of the asks at the top of the victims' orders, not the maker whose cheaper asks they swept first", () => {
    // A quiet pair: each victim's order first lifts the resident maker's ask near the market (40 %
    // of the order), then the attacker's inflated asks. The maker sells only to victims.
    const victims = Array.from({ length: 4 }, (_, i) => {
      const over = { clientIp: '203.0.113.8', newClientIp: true };
      const at = T0 + i * 30_000;
      return [1, 2].flatMap((n) => {
        const orderId = `v${i}-o${n}`;
        return [
          buy(`v${i}`, at + n * 3_000, {
            ...over,
            orderId,
            counterpartyAccountId: 'maker',
            amount: 400,
            price: 1.01e-6,
            premium: 0.03,
          }),
          buy(`v${i}`, at + n * 3_000 + 200, {
            ...over,
            orderId,
            counterpartyAccountId: 'attacker',
            amount: 600,
            price: 1.3e-6,
            premium: 0.3,
          }),
        ];
      });
    }).flat();
    expect(frozen(victims)).toEqual(['attacker']);
    // Without the sweep ordering (the maker's fills as dear as the attacker's), both sold at the top.
    expect(frozen(victims.map((o) => ({ ...o, price: 1.3e-6, premium: 0.3 })))).toEqual([
      'attacker',
      'maker',
    ]);
  });

  it("revokes a frozen attacker's other driven buyers in a pair it pumps alone, not in a public pump's crowd", () => {
    // Three victims with evidence (a new IP) and one without (its usual IP, the attacker's painted
    // prints as the live market), all buying twice from the attacker where hardly anyone else traded.
    const victim = (id: string, i: number, evidenced: boolean, quietMarket = true) =>
      [0, 5_000].map((dt) =>
        buy(id, T0 + i * 60_000 + dt, {
          counterpartyAccountId: 'attacker',
          price: 1.15e-6,
          premium: 0.15,
          livePremium: evidenced ? 0.15 : -0.5,
          quietMarket,
          ...(evidenced ? { clientIp: '203.0.113.8', newClientIp: true } : {}),
        }),
      );
    const stream = [...victim('v0', 0, true), ...victim('v1', 1, true), ...victim('v2', 2, true)];
    const quiet = newSymbolCampaignState();
    const alerts = [...stream, ...victim('quiet-victim', 3, false)].flatMap((o) =>
      foldFirstBuy(quiet, o, cfg.campaign),
    );
    const lateJoin = alerts.find((a) => a.accountId === 'quiet-victim');
    expect(lateJoin?.recommendation).toBe('revoke_key');
    expect(lateJoin?.signals[0]?.evidence.boughtFromFrozen).toBe('attacker');
    // A buyer that bought as much from another seller (the first seconds of a public pump, before
    // its crowd outnumbers the campaign) is not taken for one.
    const mixed = ['dumper', 'attacker'].map((cp, i) =>
      buy('mixed', T0 + 300_000 + i * 5_000, { counterpartyAccountId: cp, price: 1.15e-6, premium: 0.15 }),
    );
    expect(mixed.flatMap((o) => foldFirstBuy(quiet, o, cfg.campaign))).toEqual([]);
    // Nor one that bought from the attacker in a busy market: a public pump's first seconds, before
    // its first-time buyers outnumber the campaign, but not before its prints fill the tape.
    const early = newSymbolCampaignState();
    const busy = [...stream, ...victim('early-pump-buyer', 3, false, false)].flatMap((o) =>
      foldFirstBuy(early, o, cfg.campaign),
    );
    expect(busy.filter((a) => a.recommendation === 'freeze_account').map((a) => a.accountId)).toEqual([
      'attacker',
    ]);
    expect(busy.some((a) => a.accountId === 'early-pump-buyer')).toBe(false);
    // The same buyer in a public pump: the window's other first-time buyers (the crowd, from its
    // own sellers) outnumber the campaign, so buying from the attacker is no evidence.
    const crowd = Array.from({ length: 8 }, (_, i) =>
      buy(`crowd-${i}`, T0 + i * 20_000, { counterpartyAccountId: `seller-${i}`, livePremium: 0 }),
    );
    const pump = newSymbolCampaignState();
    const inPump = [...crowd, ...stream, ...victim('pump-buyer', 3, false)].flatMap((o) =>
      foldFirstBuy(pump, o, cfg.campaign),
    );
    expect(inPump.filter((a) => a.recommendation === 'freeze_account').map((a) => a.accountId)).toEqual([
      'attacker',
    ]);
    expect(inPump.some((a) => a.accountId === 'pump-buyer')).toBe(false);
  });

  it("does not take a cheap ask for an order's top while the order is still filling", () => {
    // Three victims' orders in flight at once, each first lifting an ask of the crowd's near the
    // market: the campaign opens (shared new IP) while the crowd's fill is all each order has shown.
    const ip = { clientIp: '203.0.113.8', newClientIp: true, sizeRatio: 3 };
    const ids = ['v0', 'v1', 'v2'];
    const cheap = ids.map((id, i) =>
      buy(id, T0 + i * 50, {
        ...ip,
        orderId: `${id}-o1`,
        counterpartyAccountId: 'crowd',
        price: 1.03e-6,
        premium: 0.03,
        livePremium: 0.005,
      }),
    );
    const dear = ids.map((id, i) =>
      buy(id, T0 + 300 + i * 50, {
        ...ip,
        orderId: `${id}-o1`,
        counterpartyAccountId: 'attacker',
        amount: 500,
        price: 1.3e-6,
        premium: 0.3,
        livePremium: 0.25,
      }),
    );
    expect(frozen([...cheap, ...dear])).toEqual(['attacker']);
  });

  it("freezes the attackers of a ladder of asks, each level's seller, though the victims' orders end part-way into the top one", () => {
    // Each victim's order lifts the maker's ask near the market (30 %), then the attackers' ladder:
    // one account's asks at +15 % (60 %), and the order ends on another's at +30 % (10 %).
    const legs = [
      { counterpartyAccountId: 'maker', amount: 300, price: 1.01e-6, premium: 0.03 },
      { counterpartyAccountId: 'attacker-low', amount: 600, price: 1.15e-6, premium: 0.15 },
      { counterpartyAccountId: 'attacker-top', amount: 100, price: 1.3e-6, premium: 0.3 },
    ];
    const victims = Array.from({ length: 4 }, (_, i) =>
      legs.map((leg, n) =>
        buy(`v${i}`, T0 + i * 30_000 + n * 200, {
          clientIp: '203.0.113.8',
          newClientIp: true,
          sizeRatio: 3,
          orderId: `v${i}-o1`,
          ...leg,
        }),
      ),
    ).flat();
    expect(frozen(victims)).toEqual(['attacker-low', 'attacker-top']);
    // One attacker account holding the whole ladder: all it sold counts, though its top level is 10 %.
    const oneAttacker = victims.map((o) =>
      o.counterpartyAccountId === 'maker' ? o : { ...o, counterpartyAccountId: 'attacker' },
    );
    expect(frozen(oneAttacker)).toEqual(['attacker']);
  });

  it('freezes an attacker account one member drained into above the live market, not a seller at the market', () => {
    // Three victims from attacker A; v0 also bought half of what it bought from B, at +30 % over
    // what everyone else was paying; v1 a third of its buys from a seller at the market.
    const over = { clientIp: '203.0.113.8', newClientIp: true };
    const fromA = ['v0', 'v1', 'v2'].map((id, i) =>
      buy(id, T0 + i * 20_000, { ...over, counterpartyAccountId: 'A', livePremium: 0.2 }),
    );
    const fromB = buy('v0', T0 + 60_000, { ...over, counterpartyAccountId: 'B', livePremium: 0.3 });
    const atMarket = buy('v1', T0 + 70_000, {
      ...over,
      counterpartyAccountId: 'seller',
      amount: 500,
      livePremium: 0,
    });
    const late = buy('v2', T0 + 80_000, { ...over, counterpartyAccountId: 'A', livePremium: 0.2 });
    expect(frozen([...fromA, fromB, atMarket, late])).toEqual(['A', 'B']);
    // B's asks at the market: one member is not enough.
    expect(frozen([...fromA, { ...fromB, livePremium: 0 }, atMarket, late])).toEqual(['A']);
  });

  it("freezes an attacker account that sold one member the premium in a pair the attackers pump alone, not a maker at the market nor in a pump's crowd", () => {
    // Three victims driven from one new IP, far beyond their usual size; A sold to two of them, B to
    // the third, 5 % above what the pair's last prints paid (under the 10 % that freezes anywhere).
    const victim = (id: string, i: number, cp: string, livePremium = 0.05) =>
      [0, 5_000].map((dt) =>
        buy(id, T0 + i * 60_000 + dt, {
          counterpartyAccountId: cp,
          livePremium,
          sizeRatio: 10,
          clientIp: '203.0.113.9',
          newClientIp: true,
        }),
      );
    const fromA = [...victim('v0', 0, 'A'), ...victim('v1', 1, 'A')];
    expect(frozen([...fromA, ...victim('v2', 2, 'B')])).toEqual(['A', 'B']);
    // B's asks at the market (a pair's maker, the cheapest ask when the victim's order came): one
    // member is not enough.
    expect(frozen([...fromA, ...victim('v2', 2, 'B', 0)])).toEqual(['A']);
    // A public pump: the crowd's first-time buyers outnumber the campaign; a seller of one member
    // there may be one of the crowd's.
    const crowd = Array.from({ length: 8 }, (_, i) =>
      buy(`crowd-${i}`, T0 - 30_000 + i * 10_000, { counterpartyAccountId: `seller-${i}`, livePremium: 0 }),
    );
    expect(frozen([...crowd, ...fromA, ...victim('v2', 2, 'B')])).toEqual(['A']);
  });

  it('freezes the attackers that split two victims caught alone in a pair they pump alone, each seller of most of one and a sliver of the other', () => {
    // Two keys of one label revoked by their own detectors; A sold v0 most of what it bought, B sold
    // v1 most, and each sold the other a sliver — at the prices the attackers' own prints painted
    // (no premium over the live market).
    const at = (id: string, t: number, cp: string, amount = 1000) =>
      buy(id, t, {
        counterpartyAccountId: cp,
        livePremium: 0,
        amount,
        label: 'platform-x',
        accountRecommendation: 'revoke_key',
      });
    const buys = [
      at('v0', T0, 'A'),
      at('v0', T0 + 5_000, 'A'),
      at('v1', T0 + 60_000, 'B'),
      at('v1', T0 + 65_000, 'B'),
      at('v0', T0 + 120_000, 'B', 300),
      at('v1', T0 + 180_000, 'A', 300),
      at('v0', T0 + 240_000, 'A'),
    ];
    expect(frozen(buys)).toEqual(['A', 'B']);
    // Without the slivers each seller sold one member at the painted market: not frozen for one.
    expect(frozen(buys.filter((b) => b.amount !== 300))).toEqual([]);
    // In a pump's crowd two revoked buyers may share the crowd's sellers.
    const crowd = Array.from({ length: 8 }, (_, i) =>
      buy(`crowd-${i}`, T0 - 30_000 + i * 10_000, { counterpartyAccountId: `seller-${i}`, livePremium: 0 }),
    );
    expect(frozen([...crowd, ...buys])).toEqual([]);
  });

  it('holds a market maker to its own daily peak fan-in', () => {
    const state = newSymbolCampaignState();
    // Yesterday the maker filled five driven first-time buyers within the window.
    for (const o of campaignBuys(5, 'maker', T0 - DAY)) foldFirstBuy(state, o, cfg.campaign);
    // Today four (fewer than 3 x 5): not a campaign for this maker.
    const today = campaignBuys(4, 'maker').map((o) => ({ ...o, accountId: `today-${o.accountId}` }));
    expect(today.flatMap((o) => foldFirstBuy(state, o, cfg.campaign))).toEqual([]);
  });

  it('links keys that all started trading from one new client IP, without any counterparty, once each is driven', () => {
    const fromIp = (over: Partial<FirstBuy>) => {
      const state = newSymbolCampaignState();
      return ['a', 'b', 'c'].flatMap((id, i) =>
        foldFirstBuy(
          state,
          buy(id, T0 + i * 60_000, { clientIp: '203.0.113.9', newClientIp: true, ...over }),
          cfg.campaign,
        ),
      );
    };
    // One order each of the usual size, or of a size keyguard cannot compare (no habit yet): a
    // platform's followers meeting a server of its pool, not keys drained from the attacker's.
    expect(fromIp({ sizeRatio: 1 })).toEqual([]);
    expect(fromIp({})).toEqual([]);
    const alerts = fromIp({ sizeRatio: 3 });
    expect(alerts.map((a) => `${a.accountId}:${a.recommendation}`).sort()).toEqual([
      'a:revoke_key',
      'b:revoke_key',
      'c:revoke_key',
    ]);
    expect(alerts[0]!.signals[0]!.evidence.link).toBe('ip');
  });

  it('links two keys driven from one new client IP when one was revoked by its own detectors, not two without that evidence', () => {
    const pair = (first: Partial<FirstBuy>, ip = { clientIp: '203.0.113.10', newClientIp: true }) => {
      const state = newSymbolCampaignState();
      const obs = [
        buy('a', T0, { ...ip, sizeRatio: 3, ...first }),
        buy('a', T0 + 5_000, { ...ip, sizeRatio: 3, ...first }),
        buy('b', T0 + 240_000, { ...ip, sizeRatio: 3 }),
        buy('b', T0 + 245_000, { ...ip, sizeRatio: 3 }),
      ];
      return obs.flatMap((o) => foldFirstBuy(state, o, cfg.campaign));
    };
    const alerts = pair({ accountRecommendation: 'revoke_key' });
    expect(alerts.map((a) => `${a.accountId}:${a.recommendation}`).sort()).toEqual([
      'a:revoke_key',
      'b:revoke_key',
    ]);
    expect(alerts[0]!.signals[0]!.evidence.link).toBe('ip');
    // Neither caught by its own detectors: two keys meeting one new server is a platform's pair of
    // followers as much as an attacker's machine (three make the bar).
    expect(pair({})).toEqual([]);
    // Nor with the bar of two off.
    const off = parseDetectionConfig(
      mergeConfig(cfg, { campaign: { sharedNewIp: { minAccountsWithRevoked: 3 } } }),
      'test',
    );
    const state = newSymbolCampaignState();
    const obs = [0, 5_000, 240_000, 245_000].map((dt, i) =>
      buy(i < 2 ? 'a' : 'b', T0 + dt, {
        clientIp: '203.0.113.10',
        newClientIp: true,
        sizeRatio: 3,
        ...(i < 2 ? { accountRecommendation: 'revoke_key' as const } : {}),
      }),
    );
    expect(obs.flatMap((o) => foldFirstBuy(state, o, off.campaign))).toEqual([]);
  });

  it("does not take a platform's server for an attacker's: an IP some key in the window used before links no one and is no evidence", () => {
    const server = { clientIp: '198.51.100.20' };
    // A copy-trading platform runs a signal on its followers' keys: one has traded from this server
    // for weeks, three meet it now (new to their keys), each paying 15 % above the last follower.
    const run = (withOldHand: boolean) => {
      const state = newSymbolCampaignState();
      const obs = [
        ...(withOldHand ? [buy('old-hand', T0, { ...server, label: 'copy-platform' })] : []),
        ...['f1', 'f2', 'f3', 'f4'].flatMap((id, i) => [
          buy(id, T0 + 1_000 + i * 1_000, { ...server, newClientIp: true, label: 'copy-platform' }),
          buy(id, T0 + 1_500 + i * 1_000, { ...server, newClientIp: true, label: 'copy-platform' }),
        ]),
      ];
      return obs.flatMap((o) => foldFirstBuy(state, o, cfg.campaign)).map((a) => a.accountId);
    };
    // Without the old hand, the IP is new to every key: the attacker's server (the rule still holds).
    expect(run(false).sort()).toEqual(['f1', 'f2', 'f3', 'f4']);
    expect(run(true)).toEqual([]);
    // An attacker's server beside it is still one.
    const state = newSymbolCampaignState();
    foldFirstBuy(state, buy('old-hand', T0, server), cfg.campaign);
    const attacked = ['v1', 'v2', 'v3'].flatMap((id, i) =>
      foldFirstBuy(
        state,
        buy(id, T0 + i * 1_000, { clientIp: '203.0.113.66', newClientIp: true, sizeRatio: 3 }),
        cfg.campaign,
      ),
    );
    expect(attacked.map((a) => a.accountId).sort()).toEqual(['v1', 'v2', 'v3']);
  });

  it("does not take the attacker's server for a platform's when a drained key never traded before: its first IP is no history", () => {
    const attacker = { clientIp: '203.0.113.66' };
    const run = (freshClientIp: boolean) => {
      const state = newSymbolCampaignState();
      // A key that never traded through the API: the attacker's server is the first IP it ever used
      // (not new to it, as it had no other), and its buys come first.
      const obs = [
        buy('never-traded', T0, { ...attacker, ...(freshClientIp ? { freshClientIp } : {}) }),
        ...['v1', 'v2', 'v3'].flatMap((id, i) => [
          buy(id, T0 + 1_000 + i * 1_000, { ...attacker, newClientIp: true, sizeRatio: 3 }),
          buy(id, T0 + 1_500 + i * 1_000, { ...attacker, newClientIp: true, sizeRatio: 3 }),
        ]),
      ];
      return obs.flatMap((o) => foldFirstBuy(state, o, cfg.campaign)).map((a) => a.accountId);
    };
    expect([...new Set(run(true))].sort()).toEqual(['v1', 'v2', 'v3']);
    // Read as a key that had used the server before, it would hide the attacker's server.
    expect(run(false)).toEqual([]);
  });

  it("gives a campaign and its alerts the same ids however the workers' observations interleave", async () => {
    const buys = campaignBuys(4, 'attacker', T0 + 60_000);
    // Worker A saw victims 1-3, worker B victim 0 (the earliest): B's observations may come first or last.
    const fromA = buys.filter((b) => b.accountId !== 'victim-0');
    const fromB = buys.filter((b) => b.accountId === 'victim-0');
    const run = async (batches: FirstBuy[][]) => {
      const engine = new CampaignEngine(cfg.campaign, new MemoryCampaignStore());
      const alerts = [];
      let seq = 0;
      for (const batch of batches) {
        const outcome = await engine.evaluate(batch.map((observation) => ({ seq: ++seq, observation })));
        await engine.commit(outcome);
        alerts.push(...outcome.alerts);
      }
      return alerts;
    };
    const bFirst = await run([fromB, fromA]);
    const bLate = await run([...fromA.map((o) => [o]), fromB]);
    const mixed = await run([
      [fromA[0]!, fromB[1]!, fromA[1]!],
      [fromB[0]!, ...fromA.slice(2)],
    ]);
    const ids = (alerts: typeof bFirst) =>
      alerts.map((a) => `${a.recommendation} ${a.accountId} ${a.alertId}`).sort();
    expect(bFirst.filter((a) => a.recommendation === 'revoke_key')).toHaveLength(4);
    expect(ids(bLate)).toEqual(ids(bFirst));
    expect(ids(mixed)).toEqual(ids(bFirst));
    expect(new Set([...bFirst, ...bLate, ...mixed].map((a) => a.campaignId)).size).toBe(1);
  });

  it('freezes the same attackers however the observations of victims split between them interleave', () => {
    // Six evidenced victims, each buying from two of three attacker accounts over a few minutes.
    const obs = Array.from({ length: 6 }, (_, i) =>
      [0, 1, 2].map((k) =>
        buy(`v${i}`, T0 + i * 40_000 + k * 9_000, {
          counterpartyAccountId: `attacker-${(i + k) % 3}`,
          livePremium: 0.2,
          amount: 1000 * (k + 1),
        }),
      ),
    ).flat();
    const inOrder = frozen(obs);
    expect(inOrder).toEqual(['attacker-0', 'attacker-1', 'attacker-2']);
    // Two workers, each with half the victims, their observations merged in several ways.
    const a = obs.filter((o) => Number(o.accountId.slice(1)) % 2 === 0);
    const b = obs.filter((o) => Number(o.accountId.slice(1)) % 2 === 1);
    expect(frozen([...a, ...b])).toEqual(inOrder);
    expect(frozen([...b, ...a])).toEqual(inOrder);
    expect(frozen(a.flatMap((o, i) => (b[i] ? [b[i]!, o] : [o])))).toEqual(inOrder);
  });

  it("freezes a second attacker whether a member's buy from it arrives before or after the member joined", () => {
    const at = (i: number) => T0 + i * 10_000;
    const fill = (id: string, cp: string, i: number) =>
      buy(id, at(i), { counterpartyAccountId: cp, livePremium: 0.2 });
    const early = [fill('v0', 'A', 0), fill('v0', 'A', 1), fill('v0', 'B', 2)];
    const middle = ['v1', 'v2'].flatMap((id, k) => [fill(id, 'A', 3 + 2 * k), fill(id, 'A', 4 + 2 * k)]);
    const v3 = [fill('v3', 'A', 8), fill('v3', 'A', 9)];
    const v3FromB = fill('v3', 'B', 10);
    // v3's buy from B arrives after v3 joined the campaign (it joins through its buys from A)…
    expect(frozen([...early, ...middle, ...v3, v3FromB])).toEqual(['A', 'B']);
    // …or before it: the same freezes.
    expect(frozen([v3FromB, ...early, ...middle, ...v3])).toEqual(['A', 'B']);
  });

  it('the observation schema rejects a malformed record', () => {
    expect(observationSchema.safeParse({ type: 'first_buy', exchange: 'binance' }).success).toBe(false);
    expect(observationSchema.safeParse(buy('x', T0)).success).toBe(true);
  });
});

/** A labelled key revoked (in `symbol`, when given): a leak-cohort data point. */
function anomaly(i: number, at: number, label = 'platform-a', symbol?: string): KeyAnomaly {
  return {
    type: 'key_anomaly',
    exchange: 'binance',
    label,
    accountId: `acct-${i}`,
    apiKeyId: `acct-${i}-k1`,
    timestamp: at,
    alertId: `alert-${i}-${at}`,
    recommendation: 'revoke_key',
    score: 0.95,
    ...(symbol ? { symbol } : {}),
  };
}

describe('leak cohort (pure)', () => {
  /** A label keyguard has heard of for a day (one revoked key yesterday: its baseline). */
  const knownLabel = () => {
    const state = newCohortState();
    foldKeyAnomaly(state, anomaly(99, T0 - DAY), cfg.campaign.cohort, cfg.campaign.baselineDays);
    return state;
  };

  it('raises one platform alert naming the cohort and listing its keys, no alert per key by default', () => {
    // Yesterday's peak was one key: the bar is max(minKeys, 4 × 1) = 4 keys.
    expect(cfg.campaign.cohort.minKeys).toBeLessThanOrEqual(4);
    const state = knownLabel();
    const alerts = [0, 1, 2, 3, 4, 5].flatMap((i) =>
      foldKeyAnomaly(state, anomaly(i, T0 + i * 60_000), cfg.campaign.cohort, cfg.campaign.baselineDays),
    );
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.scope).toBe('platform');
    expect(alerts[0]!.cohort).toBe('platform-a');
    expect(alerts[0]!.signals[0]!.evidence.keyList).toBe(
      [0, 1, 2, 3].map((i) => `acct-${i}/acct-${i}-k1`).join(' '),
    );
  });

  it('gives every key of the cohort the configured bulk recommendation', () => {
    const state = knownLabel();
    const bulk = { ...cfg.campaign.cohort, recommendation: 'review' as const };
    const alerts = [0, 1, 2, 3, 4, 5].flatMap((i) =>
      foldKeyAnomaly(state, anomaly(i, T0 + i * 60_000), bulk, 14),
    );
    const perKey = alerts.filter((a) => a.scope !== 'platform');
    expect(perKey.map((a) => a.apiKeyId).sort()).toEqual([0, 1, 2, 3, 4, 5].map((i) => `acct-${i}-k1`));
    expect(perKey.every((a) => a.recommendation === 'review')).toBe(true);
  });

  it('counts only alerts of the attack pattern, and asks a label it just met for twice the keys', () => {
    const reviews = knownLabel();
    const noise = [0, 1, 2, 3, 4, 5, 6].map((i) => ({
      ...anomaly(i, T0 + i),
      recommendation: 'review' as const,
    }));
    expect(noise.flatMap((x) => foldKeyAnomaly(reviews, x, cfg.campaign.cohort, 14))).toEqual([]);
    const fresh = newCohortState();
    const twice = 2 * cfg.campaign.cohort.minKeys;
    const first = Array.from({ length: twice - 1 }, (_, i) =>
      foldKeyAnomaly(fresh, anomaly(i, T0 + i), cfg.campaign.cohort, 14),
    ).flat();
    expect(first).toEqual([]);
    expect(foldKeyAnomaly(fresh, anomaly(twice, T0 + twice), cfg.campaign.cohort, 14)).toHaveLength(1);
  });

  it('names a breach by its label and window, whichever anomaly arrives first', () => {
    const ids = (order: number[]) => {
      const state = knownLabel();
      return order
        .flatMap((i) =>
          foldKeyAnomaly(
            state,
            anomaly(i, T0 + 60_000 + i * 60_000),
            cfg.campaign.cohort,
            cfg.campaign.baselineDays,
          ),
        )
        .map((a) => a.alertId)
        .sort();
    };
    expect(ids([1, 2, 3, 4, 5, 0])).toEqual(ids([0, 1, 2, 3, 4, 5]));
  });

  it('does not fire below the cohort minimum, nor for a cohort that is that noisy every day', () => {
    const quiet = knownLabel();
    expect(
      [0, 1, 2].flatMap((i) => foldKeyAnomaly(quiet, anomaly(i, T0 + i), cfg.campaign.cohort, 14)),
    ).toEqual([]);
    const noisy = newCohortState();
    for (let i = 0; i < 8; i++) foldKeyAnomaly(noisy, anomaly(i, T0 - DAY + i), cfg.campaign.cohort, 14);
    expect(
      [10, 11, 12, 13, 14, 15].flatMap((i) =>
        foldKeyAnomaly(noisy, anomaly(i, T0 + i), cfg.campaign.cohort, 14),
      ),
    ).toEqual([]);
  });
});

describe('leak cohort: the label drained again', () => {
  const drainedBy = (i: number, at: number, symbol: string) => anomaly(i, at, 'platform-a', symbol);
  const fold = (state: ReturnType<typeof newCohortState>, xs: KeyAnomaly[]) =>
    xs.flatMap((x) => foldKeyAnomaly(state, x, cfg.campaign.cohort, cfg.campaign.baselineDays));

  it("raises the platform alert when a second pair drains the label's keys, though the first drain was too small to raise it", () => {
    const state = newCohortState();
    // Day 1: three keys drained in one pair — a label keyguard just met needs twice minKeys: nothing.
    expect(
      fold(
        state,
        [0, 1, 2].map((i) => drainedBy(i, T0 + i * 60_000, 'AAA/BTC')),
      ),
    ).toEqual([]);
    // A day later two keys drained in another pair: the label leaked. The first drain did not raise
    // the bar (on the peaks alone 2 keys against yesterday's 3 would be nothing).
    const later = fold(
      state,
      [3, 4].map((i) => drainedBy(i, T0 + DAY + i * 60_000, 'BBB/BTC')),
    );
    expect(later).toHaveLength(1);
    expect(later[0]!.scope).toBe('platform');
    expect(later[0]!.timestamp).toBe(T0 + DAY + 4 * 60_000);
    expect(later[0]!.signals[0]!.evidence.drainedPairs).toBe('AAA/BTC BBB/BTC');
    // Ids are stable: the same anomalies in another order raise the same breach.
    const again = newCohortState();
    const ids = fold(again, [
      ...[2, 0, 1].map((i) => drainedBy(i, T0 + i * 60_000, 'AAA/BTC')),
      ...[4, 3].map((i) => drainedBy(i, T0 + DAY + i * 60_000, 'BBB/BTC')),
    ]).map((a) => a.alertId);
    expect(ids).toEqual(later.map((a) => a.alertId));
  });

  it("is not raised by single revokes in many pairs, by one pair drained twice, or by one account's keys", () => {
    const state = newCohortState();
    const singles = [0, 1, 2, 3, 4].map((i) => drainedBy(i, T0 + i * 2 * 3_600_000, `P${i}/BTC`));
    expect(fold(state, singles)).toEqual([]);
    const samePair = [
      ...[10, 11].map((i) => drainedBy(i, T0 + DAY + i * 60_000, 'AAA/BTC')),
      ...[12, 13].map((i) => drainedBy(i, T0 + 2 * DAY + i * 60_000, 'AAA/BTC')),
    ];
    expect(fold(state, samePair)).toEqual([]);
    // Two keys of one account (a user with two keys on the platform) are not two victims.
    const twoKeys = [0, 1].map((i) => ({ ...drainedBy(30, T0 + 3 * DAY + i, 'BBB/BTC'), apiKeyId: `k${i}` }));
    expect(fold(state, twoKeys)).toEqual([]);
  });

  it('forgets a drain older than repeatWithinMs', () => {
    const state = newCohortState();
    fold(
      state,
      [0, 1].map((i) => drainedBy(i, T0 + i * 60_000, 'AAA/BTC')),
    );
    const late = T0 + cfg.campaign.cohort.repeatWithinMs + DAY;
    expect(
      fold(
        state,
        [2, 3].map((i) => drainedBy(i, late + i * 60_000, 'BBB/BTC')),
      ),
    ).toEqual([]);
  });

  it('publishes each step of a run before committing it: a publish that fails commits nothing, and the redo gives the same alerts', async () => {
    const store = new MemoryCampaignStore();
    const engine = new CampaignEngine(cfg.campaign, store);
    const obs = campaignBuys(3, 'attacker-1').map((o) => ({ ...o, label: 'platform-a' }));
    let seq = 0;
    await expect(
      runCampaigns(
        engine,
        obs,
        () => ++seq,
        () => {
          throw new Error('broker down');
        },
      ),
    ).rejects.toThrow('broker down');
    expect(await store.loadGroups([groupKeyOf(obs[0]!)])).toEqual(new Map());
    const published: Alert[][] = [];
    seq = 0;
    await runCampaigns(
      engine,
      obs,
      () => ++seq,
      (found) => {
        published.push([...found]);
      },
    );
    // Two steps: the campaign's alerts, then the leak cohort's fold of its revoked members (no alert yet).
    expect(published.map((p) => p.length)).toEqual([4, 0]);
    // Already committed: a replay of the same input skips it.
    expect(await runAll(engine, obs)).toEqual([]);
  });

  it("counts keys a campaign revoked: two campaigns on one label's keys in two pairs raise the platform alert", async () => {
    const run = async (label: string | undefined) => {
      const engine = new CampaignEngine(cfg.campaign, new MemoryCampaignStore());
      const next = counter();
      const labelled = (xs: FirstBuy[], symbol: string, prefix: string) =>
        xs.map((o) => ({ ...o, symbol, accountId: `${prefix}${o.accountId}`, ...(label ? { label } : {}) }));
      const first = labelled(campaignBuys(3, 'attacker-1'), 'AAA/BTC', 'a-');
      const second = labelled(campaignBuys(3, 'attacker-2', T0 + DAY), 'BBB/BTC', 'b-');
      return [...(await runAll(engine, first, next)), ...(await runAll(engine, second, next))];
    };
    const withLabel = await run('platform-a');
    // Each campaign revoked its three members (their own detectors did not): only campaigns told the cohort.
    expect(withLabel.filter((a) => a.recommendation === 'revoke_key')).toHaveLength(6);
    const platform = withLabel.filter((a) => a.scope === 'platform');
    expect(platform.map((a) => a.cohort)).toEqual(['platform-a']);
    expect(platform[0]!.signals[0]!.evidence.drainedPairs).toBe('AAA/BTC BBB/BTC');
    // Without a label the members' keys belong to no platform.
    expect((await run(undefined)).filter((a) => a.scope === 'platform')).toEqual([]);
  });
});

describe('key context', () => {
  it('marks a key trading from a new client IP, for a while, and never on the first IP', () => {
    const s = newAccountState(T0);
    applyAccountEvent(s, order({ accountId: 'a', apiKeyId: 'k', timestamp: T0, clientIp: '10.0.0.1' }), cfg);
    expect(keyContext(order({ accountId: 'a', apiKeyId: 'k', timestamp: T0 }), s, cfg)).toBeUndefined();
    const fromNewIp = order({
      accountId: 'a',
      apiKeyId: 'k',
      id: 'o2',
      timestamp: T0 + 60_000,
      clientIp: '198.51.100.7',
    });
    applyAccountEvent(s, fromNewIp, cfg);
    const signal = keyContext(fromNewIp, s, cfg);
    expect(signal?.score).toBe(cfg.keyContext.newIpScore);
    expect(signal?.evidence.clientIp).toBe('198.51.100.7');
    const later = order({
      accountId: 'a',
      apiKeyId: 'k',
      id: 'o3',
      timestamp: T0 + 60_000 + cfg.keyContext.windowMs + 1,
    });
    applyAccountEvent(s, later, cfg);
    expect(keyContext(later, s, cfg)).toBeUndefined();
  });

  it('marks a key created long ago that keyguard never saw trade, and a dormant key waking up', () => {
    const s = newAccountState(T0);
    applyApiKeyEvent(s, {
      kind: 'apikey',
      exchange: 'binance',
      timestamp: T0,
      accountId: 'a',
      apiKeyId: 'old',
      action: 'created',
      createdAt: T0 - 800 * DAY,
      label: 'platform-a',
    });
    expect(s.km?.old?.lb).toBe('platform-a');
    const first = order({ accountId: 'a', apiKeyId: 'old', timestamp: T0 + 2 * DAY });
    applyAccountEvent(s, first, cfg);
    expect(keyContext(first, s, cfg)?.evidence.keyAgeDays).toBe(802);
    const woke = order({
      accountId: 'a',
      apiKeyId: 'old',
      id: 'o9',
      timestamp: T0 + 2 * DAY + cfg.keyContext.dormantMs + DAY,
    });
    applyAccountEvent(s, woke, cfg);
    expect(keyContext(woke, s, cfg)?.evidence.dormantDays).toBeGreaterThan(14);
  });

  it('cannot be configured to revoke on its own', () => {
    const rules = [{ recommendation: 'revoke_key', when: { key_context: 0.5 } }];
    expect(() => parseDetectionConfig(mergeConfig(cfg, { fusion: { rules } }), 'test')).toThrow(
      /key_context/,
    );
  });
});
