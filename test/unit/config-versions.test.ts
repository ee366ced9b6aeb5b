/**
 * Detection config versions over event time: which version scores an event, what may change at
 * run time, how a bad version is refused (the key named), and that a replay with the same versions
 * gives the same alerts, each naming its version.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ConfigTimeline,
  checkReplaceable,
  configVersionOf,
  versionFromRecord,
} from '../../src/config/config-versions.js';
import { type DetectionConfig, loadDetectionConfig, mergeConfig } from '../../src/config/detection.js';
import { DetectionEngine } from '../../src/detection/engine.js';
import { type Alert, isAccountEvent } from '../../src/events/schema.js';
import { MarketState } from '../../src/market/market-state.js';
import { processAll } from '../../src/replay/process-all.js';
import { syntheticScenario } from '../../src/simulate/synthetic-scenario.js';
import { MemoryBaselineStore } from '../../src/state/memory-store.js';
import { runCli } from '../helpers/cli.js';

const base = loadDetectionConfig();
const T = Date.UTC(2026, 0, 2);
const withOverrides = (o: Record<string, unknown>) => mergeConfig(base, o) as DetectionConfig;

describe('config versions', () => {
  it('an event is scored with the version in effect at its timestamp, whatever order versions arrive in', () => {
    const a = versionFromRecord({ effectiveFrom: T, overrides: { fusion: { reportMinScore: 0.4 } } }, base);
    const b = versionFromRecord(
      { effectiveFrom: new Date(T + 60_000).toISOString(), overrides: { fusion: { cooldownMs: 1 } } },
      base,
    );
    for (const order of [
      [a, b],
      [b, a],
    ]) {
      const timeline = new ConfigTimeline(base);
      for (const v of order) expect(timeline.add(v)).toBe(true);
      expect(timeline.add(a)).toBe(false); // read again (a redelivery): nothing changes
      expect(timeline.at(T - 1).version).toBe(configVersionOf(base));
      expect(timeline.at(T).version).toBe(a.version);
      expect(timeline.at(T + 59_999).config.fusion.reportMinScore).toBe(0.4);
      // Each version stands alone on top of the base: b does not inherit a's change.
      expect(timeline.at(T + 60_000).config.fusion.reportMinScore).toBe(base.fusion.reportMinScore);
      expect(timeline.at(T + 60_000).config.fusion.cooldownMs).toBe(1);
      expect(timeline.latest().version).toBe(b.version);
    }
  });

  it('the version is the content: the same config gives the same version, any change another', () => {
    const reversed = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(reversed)
        : v !== null && typeof v === 'object'
          ? Object.fromEntries(
              Object.entries(v)
                .reverse()
                .map(([k, x]) => [k, reversed(x)]),
            )
          : v;
    const shuffled = reversed(base) as DetectionConfig;
    expect(Object.keys(shuffled)[0]).toBe(Object.keys(base).at(-1));
    expect(configVersionOf(shuffled)).toBe(configVersionOf(base));
    expect(configVersionOf(withOverrides({ offMarket: { minDeviation: 0.031 } }))).not.toBe(
      configVersionOf(base),
    );
  });

  it('thresholds, weights and rules change at run time; what shapes kept state is refused, naming the key', () => {
    expect(() =>
      checkReplaceable(base, withOverrides({ fusion: { weights: { trade_burst: 0.1 } } })),
    ).not.toThrow();
    expect(() => checkReplaceable(base, withOverrides({ liveMarket: { minPremium: 0.05 } }))).not.toThrow();
    for (const [override, key] of [
      [{ reference: { bucketMs: 30_000 } }, 'reference.bucketMs'],
      [{ liveMarket: { windowMs: 5000 } }, 'liveMarket.windowMs'],
      [{ burst: { bucketMs: 1000, windowMs: 60_000 } }, 'burst.bucketMs'],
      [{ campaign: { enabled: false } }, 'campaign.enabled'],
      [{ state: { ttlSeconds: 60 } }, 'state.ttlSeconds'],
    ] as const) {
      expect(() => versionFromRecord({ effectiveFrom: T, overrides: override }, base)).toThrow(
        new RegExp(`^${key.replace('.', '\\.')} cannot change at run time`),
      );
    }
  });

  it('a bad record is refused with the key named', () => {
    const refused = (raw: unknown) => {
      try {
        versionFromRecord(raw, base);
      } catch (err) {
        return (err as Error).message;
      }
      return 'accepted';
    };
    expect(refused({ effectiveFrom: T, overrides: { fusion: { reportMinScor: 0.5 } } })).toMatch(
      /fusion\.reportMinScor: unknown key/,
    );
    expect(refused({ effectiveFrom: T, overrides: { offMarket: { fullDeviation: 'x' } } })).toMatch(
      /offMarket\.fullDeviation: /,
    );
    expect(refused({ effectiveFrom: T, overrides: { offMarket: { fullDeviation: 0.001 } } })).toMatch(
      /offMarket\.fullDeviation: must exceed minDeviation/,
    );
    expect(refused({ effectiveFrom: 'tomorrow', overrides: {} })).toMatch(/^config record: effectiveFrom: /);
    expect(refused({ effectiveFrom: T, overrides: {}, author: 'x' })).toMatch(/author|Unrecognized/);
  });
});

describe('keyguard replay --config-versions', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'keyguard-config-versions-'));
  const scenario = syntheticScenario({
    seed: 5,
    days: 2,
    accounts: 30,
    victims: 3,
    attackStrength: 'medium',
  });
  const eventsFile = path.join(dir, 'events.jsonl');
  writeFileSync(eventsFile, `${scenario.events.map((e) => JSON.stringify(e)).join('\n')}\n`);
  // The account engine's alerts: campaign and cohort alerts come from the aggregator, whose section
  // of the configuration cannot change at run time (it shapes the campaign windows): no version.
  const alertsOf = (stdout: string) =>
    stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Alert)
      .filter((a) => !a.campaignId && a.scope !== 'platform');

  it('scores each event with the version in effect at its time, names it on the alert, and gives the same alerts every time', async () => {
    const plain = await runCli(['replay', eventsFile]);
    expect(plain.code).toBe(0);
    const before = alertsOf(plain.stdout);
    expect(before.length).toBeGreaterThan(3);
    const baseVersion = configVersionOf(base);
    expect(new Set(before.map((a) => a.configVersion))).toEqual(new Set([baseVersion]));

    // From the middle alert's time on: every alert is "low" (a visible change that keeps the same alerts).
    const switchAt = [...before].sort((x, y) => x.timestamp - y.timestamp)[Math.floor(before.length / 2)]!
      .timestamp;
    const record = {
      effectiveFrom: switchAt,
      overrides: { fusion: { severityBands: [{ minScore: 0, severity: 'low' }] } },
      comment: 'test: everything low',
    };
    const versionsFile = path.join(dir, 'versions.jsonl');
    writeFileSync(versionsFile, `${JSON.stringify(record)}\n`);
    const next = versionFromRecord(record, base).version;
    const runs = [await runCli(['replay', '--config-versions', versionsFile, eventsFile])];
    runs.push(await runCli(['replay', '--config-versions', versionsFile, eventsFile]));
    expect(runs[1]!.stdout).toBe(runs[0]!.stdout);
    const after = alertsOf(runs[0]!.stdout);
    expect(after.map((a) => a.alertId)).toEqual(before.map((a) => a.alertId));
    after.forEach((a, i) => {
      const b = before[i]!;
      if (a.timestamp < switchAt) expect(a).toEqual(b);
      else expect(a).toEqual({ ...b, severity: 'low', configVersion: next });
    });
    expect(after.filter((a) => a.configVersion === next).length).toBeGreaterThan(0);
  });

  it('a bad versions file stops the replay before it starts, naming the line and the key', async () => {
    const bad = path.join(dir, 'bad-versions.jsonl');
    writeFileSync(
      bad,
      `${JSON.stringify({ effectiveFrom: T, overrides: {} })}\n${JSON.stringify({ effectiveFrom: T, overrides: { size: { baselineDays: 3 } } })}\n`,
    );
    const r = await runCli(['replay', '--config-versions', bad, eventsFile]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`${bad}:2: size.baselineDays cannot change at run time`);
  });

  it('backfill folds baselines with the versions as the workers do, and refuses a bad versions file naming the line', async () => {
    const switchAt = scenario.events[Math.floor(scenario.events.length / 2)]!.timestamp;
    // size.quoteUsd is run-time changeable and shapes the size baselines (USD) as they are folded.
    const versions = () => {
      const t = new ConfigTimeline(base);
      t.add(
        versionFromRecord(
          { effectiveFrom: switchAt, overrides: { size: { quoteUsd: { BTC: 40_000 } } } },
          base,
        ),
      );
      return t;
    };
    const folded = async (opts: { baselinesOnly?: boolean; versions?: ConfigTimeline }) => {
      const store = new MemoryBaselineStore(1e12);
      const engine = new DetectionEngine(base, store, new MarketState(base), opts);
      await processAll(engine, scenario.events, { batchSize: 2000, firstSeq: 1 });
      const refs = [...new Set(scenario.events.filter(isAccountEvent).map((e) => e.accountId))].map(
        (accountId) => ({
          exchange: 'binance',
          accountId,
        }),
      );
      // The size baselines (daily peaks of an order's value in USD): what quoteUsd shapes.
      return [...(await store.loadAccounts(refs)).values()].map((a) => a.state.sz);
    };
    const scored = await folded({ versions: versions() });
    expect(await folded({ baselinesOnly: true, versions: versions() })).toEqual(scored);
    expect(await folded({ baselinesOnly: true })).not.toEqual(scored); // the version made a difference

    const bad = path.join(dir, 'bad-backfill-versions.jsonl');
    writeFileSync(bad, `${JSON.stringify({ effectiveFrom: T, overrides: { state: { ttlSeconds: 5 } } })}\n`);
    const r = await runCli([
      'backfill',
      '--redis',
      'redis://127.0.0.1:1',
      '--config-versions',
      bad,
      eventsFile,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${bad}:1: state.ttlSeconds cannot change at run time`);
  });
});
