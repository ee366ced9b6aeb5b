import { describe, expect, it } from 'vitest';
import { loadDetectionConfig } from '../../src/config/detection.js';
import { DetectionEngine } from '../../src/detection/engine.js';
import type { Alert } from '../../src/events/schema.js';
import { MarketState } from '../../src/market/market-state.js';
import { processAll } from '../../src/replay/process-all.js';
import { evaluate, firstRevokes, summarize } from '../../src/simulate/evaluation.js';
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
