import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, inject, it } from 'vitest';
import { syntheticScenario } from '../../src/simulate/synthetic-scenario.js';
import { runCli } from '../helpers/cli.js';

const run = runCli;

describe('keyguard replay --redis (real Redis)', () => {
  it('gives the alerts of the embedded store, and a second replay into the same prefix adds nothing', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'keyguard-replay-redis-'));
    const file = path.join(dir, 'events.jsonl');
    const scenario = syntheticScenario({
      seed: 31,
      days: 2,
      accounts: 15,
      victims: 1,
      attackStrength: 'strong',
    });
    writeFileSync(file, `${scenario.events.map((e) => JSON.stringify(e)).join('\n')}\n`);
    const prefix = `replay-test:${Date.now()}:`;
    const memory = await run(['replay', file]);
    const redis = await run(['replay', '--redis', inject('redisUrl'), '--redis-prefix', prefix, file]);
    expect(redis.code).toBe(0);
    expect(redis.stdout).toBe(memory.stdout);
    expect(redis.stdout).toMatch(/revoke_key/);
    const client = new Redis(inject('redisUrl'));
    expect((await client.keys(`${prefix}acct:*`)).length).toBe(16);
    await client.quit();
    // Every event is already in the stored baselines: nothing is counted twice, nothing re-alerted.
    const again = await run(['replay', '--redis', inject('redisUrl'), '--redis-prefix', prefix, file]);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe('');
  }, 60_000);
});

describe('keyguard backfill (real Redis)', () => {
  it('warms the baselines from history without alerts, idempotently, so live events are judged against the past', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'keyguard-backfill-'));
    const scenario = syntheticScenario({
      seed: 33,
      days: 3,
      accounts: 30,
      victims: 3,
      attackStrength: 'medium',
    });
    const split = scenario.to - 0.5 * 86_400_000;
    const history = path.join(dir, 'history.jsonl');
    const live = path.join(dir, 'live.jsonl');
    const jsonl = (events: typeof scenario.events) => `${events.map((e) => JSON.stringify(e)).join('\n')}\n`;
    writeFileSync(history, jsonl(scenario.events.filter((e) => e.timestamp < split)));
    writeFileSync(live, jsonl(scenario.events.filter((e) => e.timestamp >= split)));
    const prefix = `backfill-test:${Date.now()}:`;
    const redisArgs = ['--redis', inject('redisUrl'), '--redis-prefix', prefix];

    const first = await run(['backfill', history, ...redisArgs]);
    expect(first.code).toBe(0);
    expect(first.stdout).toBe('');
    expect(first.stderr).toMatch(
      /backfill history\.jsonl: \d+ events, \d+ account updates, 0 already stored/,
    );
    const client = new Redis(inject('redisUrl'));
    const keys = (await client.keys(`${prefix}acct:*`)).sort();
    const accounts = new Set(
      scenario.events
        .filter((e) => e.timestamp < split && 'accountId' in e)
        .map((e) => (e as { accountId: string }).accountId),
    );
    expect(keys.length).toBe(accounts.size);
    const before = await Promise.all(keys.map((k) => client.get(k)));

    // Again (a re-run, or a run after a crash): everything is already stored, nothing changes.
    const again = await run(['backfill', history, ...redisArgs]);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/0 account updates, [1-9]\d* already stored/);
    expect(await Promise.all(keys.map((k) => client.get(k)))).toEqual(before);
    await client.quit();

    // Live events after the backfill are judged against each account's past (its usual size needs
    // a previous day); the same events on a cold store are not.
    const warm = await run(['replay', live, ...redisArgs]);
    const cold = await run(['replay', live]);
    expect(warm.code).toBe(0);
    const detectors = (out: string) =>
      new Set(
        out
          .trim()
          .split('\n')
          .filter(Boolean)
          .flatMap((l) =>
            (JSON.parse(l) as { signals: Array<{ detector: string }> }).signals.map((s) => s.detector),
          ),
      );
    expect(detectors(warm.stdout).has('unusual_size')).toBe(true);
    expect(detectors(cold.stdout).has('unusual_size')).toBe(false);
  }, 90_000);
});
