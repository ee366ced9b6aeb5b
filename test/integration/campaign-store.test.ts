import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { CampaignEngine } from '../../src/campaign/campaign-engine.js';
import {
  type CampaignStore,
  MemoryCampaignStore,
  RedisCampaignStore,
} from '../../src/campaign/campaign-store.js';
import { loadDetectionConfig } from '../../src/config/detection.js';
import type { FirstBuy } from '../../src/events/observation.js';

const cfg = loadDetectionConfig();
const opened: CampaignStore[] = [];
afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
});

const factories: Record<string, () => CampaignStore> = {
  memory: () => new MemoryCampaignStore(),
  redis: () => new RedisCampaignStore(inject('redisUrl'), `test:${randomUUID()}:`, 3600),
  'redis cluster': () =>
    new RedisCampaignStore(inject('redisClusterUrl'), `test:${randomUUID()}:`, 3600, {
      replicaWait: { replicas: 1, timeoutMs: 5000 },
    }),
};

const T0 = Date.UTC(2022, 10, 14, 12);
function buy(i: number, n: number): FirstBuy {
  return {
    type: 'first_buy',
    exchange: 'binance',
    symbol: 'YOYOW/BTC',
    accountId: `victim-${i}`,
    apiKeyId: `victim-${i}-k1`,
    fillId: `f${i}-${n}`,
    orderId: `o${i}-${n}`,
    timestamp: T0 + i * 60_000 + n * 1000,
    price: 1.05e-6,
    amount: 1000,
    premium: 0.05,
    // Above what the crowd paid: a buyer with evidence of its own (a campaign member).
    livePremium: 0.15,
    counterpartyAccountId: 'attacker',
    newClientIp: false,
    accountRecommendation: 'none',
  };
}

describe.each(Object.keys(factories))('campaign store contract: %s', (kind) => {
  it('keeps a campaign across batches, and a redelivered batch neither repeats alerts nor counts twice', async () => {
    const store = factories[kind]!();
    opened.push(store);
    const engine = new CampaignEngine(cfg.campaign, store);
    const seq = (from: number, obs: FirstBuy[]) =>
      obs.map((observation, i) => ({ seq: from + i, source: 'obs/0', observation }));
    // Batch 1: one victim (not yet a campaign).
    const b1 = seq(1, [buy(0, 0), buy(0, 1)]);
    const o1 = await engine.evaluate(b1);
    expect(o1.alerts).toEqual([]);
    expect(await engine.commit(o1)).toBe(1);
    // Batch 2: the second victim opens the campaign (two buyers with evidence of their own, alone in
    // the pair: counterparty.minAccountsAlone), the first seen only through the stored state.
    const b2 = seq(3, [buy(1, 0), buy(1, 1)]);
    const o2 = await engine.evaluate(b2);
    expect(o2.alerts.map((a) => `${a.accountId}:${a.recommendation}`).sort()).toEqual([
      'attacker:freeze_account',
      'victim-0:revoke_key',
      'victim-1:revoke_key',
    ]);
    expect(await engine.commit(o2)).toBe(1);
    // Batch 2 again (a crash before the offset commit): nothing new, nothing saved.
    const again = await engine.evaluate(b2);
    expect(again.alerts).toEqual([]);
    expect(again.alreadyApplied).toBe(2);
    expect(await engine.commit(again)).toBe(0);
    // A stale save of batch 1's state is refused.
    expect(await engine.commit(o1)).toBe(0);
    // A third victim joins the open campaign on its own.
    const o4 = await engine.evaluate(seq(5, [buy(2, 0), buy(2, 1)]));
    expect(o4.alerts.map((a) => `${a.accountId}:${a.recommendation}`)).toEqual(['victim-2:revoke_key']);
    expect(o4.alerts[0]!.campaignId).toBe(o2.alerts[0]!.campaignId);
  });
});
