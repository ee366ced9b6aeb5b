/** The long-running commands refuse a bad or missing configuration with exit 2 and a message naming it. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
});

function file(content: unknown): string {
  const f = path.join(mkdtempSync(path.join(os.tmpdir(), 'keyguard-cmd-')), 'cfg.json');
  writeFileSync(f, JSON.stringify(content));
  return f;
}

describe('command configuration', () => {
  it('webhooks: needs its variables, https, and secrets that exist', async () => {
    delete process.env.KEYGUARD_WEBHOOKS_CONFIG;
    process.env.KAFKA_BROKERS = '127.0.0.1:1';
    process.env.REDIS_URL = 'redis://127.0.0.1:1';
    let r = await runCli(['webhooks']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/KEYGUARD_WEBHOOKS_CONFIG/);
    process.env.KEYGUARD_WEBHOOKS_CONFIG = file({
      endpoints: [{ id: 'p', url: 'http://platform.example/hook', secretsEnv: 'HOOK_SECRET' }],
    });
    r = await runCli(['webhooks']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/plain http to platform.example is not allowed/);
    process.env.KEYGUARD_WEBHOOKS_CONFIG = file({
      endpoints: [{ id: 'p', url: 'https://platform.example/hook', secretsEnv: 'HOOK_SECRET' }],
    });
    r = await runCli(['webhooks', '--dry-run']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/HOOK_SECRET is not set/);
  });

  it('market-feed and collect: needs their variables and a valid file', async () => {
    process.env.KAFKA_BROKERS = '127.0.0.1:1';
    delete process.env.KEYGUARD_MARKET_FEED_CONFIG;
    let r = await runCli(['market-feed']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/KEYGUARD_MARKET_FEED_CONFIG/);
    process.env.KEYGUARD_MARKET_FEED_CONFIG = file({
      venues: [{ exchange: 'binance', symbols: ['LTCUSDT'] }],
    });
    r = await runCli(['market-feed']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/venues\.0\.symbols\.0: expected BASE\/QUOTE/);
    process.env.REDIS_URL = 'redis://127.0.0.1:1';
    process.env.KEYGUARD_COLLECT_CONFIG = file({
      keys: [
        {
          exchange: 'binance',
          accountId: 'a',
          apiKeyId: 'k',
          credentialsEnv: 'NOT_SET_KEY',
          symbols: ['LTC/USDT'],
        },
      ],
    });
    r = await runCli(['collect']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/NOT_SET_KEY is not set/);
  });
});
