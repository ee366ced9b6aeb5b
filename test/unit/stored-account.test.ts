import { describe, expect, it } from 'vitest';
import { loadDetectionConfig } from '../../src/config/detection.js';
import { DetectionEngine } from '../../src/detection/engine.js';
import { MarketState } from '../../src/market/market-state.js';
import { processAll } from '../../src/replay/process-all.js';
import { syntheticScenario } from '../../src/simulate/synthetic-scenario.js';
import { newAccountState } from '../../src/state/account-state.js';
import { MemoryBaselineStore } from '../../src/state/memory-store.js';
import { accountStateJson, parseAccountState } from '../../src/state/stored-account.js';

const cfg = loadDetectionConfig();

describe('account state as stored', () => {
  it('reads back every state of a replay exactly, each key its own activity, and is smaller than plain JSON', async () => {
    const scenario = syntheticScenario({ seed: 31, days: 2, accounts: 40, victims: 2 });
    const store = new MemoryBaselineStore(cfg.state.ttlSeconds * 1000);
    await processAll(new DetectionEngine(cfg, store, new MarketState(cfg)), scenario.events);
    const refs = [
      ...new Set(
        scenario.events.flatMap((e) => ('accountId' in e ? [`${e.exchange}\u0000${e.accountId}`] : [])),
      ),
    ].map((k) => ({ exchange: k.split('\u0000')[0]!, accountId: k.split('\u0000')[1]! }));
    const states = [...(await store.loadAccounts(refs)).values()].map((s) => s.state);
    expect(states.length).toBe(refs.length);
    let plain = 0;
    let stored = 0;
    let shared = 0;
    for (const state of states) {
      const json = accountStateJson(state);
      const back = parseAccountState(json);
      expect(back).toEqual(state);
      for (const k in back.keys) {
        expect(back.keys[k]).not.toBe(back.act); // folding into a key must not move the account
        if (JSON.stringify(state.keys[k]) === JSON.stringify(state.act)) shared++;
      }
      plain += JSON.stringify(state).length;
      stored += json.length;
    }
    expect(shared).toBeGreaterThan(0);
    expect(stored).toBeLessThan(plain * 0.9);
  });

  it('keeps times that are not whole numbers as they are, and reads a state written as plain JSON', () => {
    const state = newAccountState(1_000.5);
    state.act.w = { b: [1_000.5, 6_000], n: [1, 2] };
    state.act.p = [3, 1, 4, 2];
    state.sz = [3, 10.25, 5, 20.5];
    state.keys.k = { w: { b: [6_000], n: [1] }, p: [4, 1], f: 2, l: 6_000 };
    expect(parseAccountState(accountStateJson(state))).toEqual(state);
    expect(accountStateJson(state)).toContain('"b":[1000.5,6000]');
    expect(accountStateJson(state)).toContain('"szg":[3,10.25,2,20.5]');
    expect(parseAccountState(JSON.stringify(state))).toEqual(state);
  });
});
