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
