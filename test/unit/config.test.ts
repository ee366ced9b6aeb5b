import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { credentialsFor, loadCollectConfig } from '../../src/collector/collect-config.js';
import { loadDetectionConfig } from '../../src/config/detection.js';
import { loadRuntimeEnv } from '../../src/config/runtime.js';
import { loadMarketFeedConfig, parseMarketFeedConfig } from '../../src/market-data/feed-config.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'keyguard-config-'));

describe('detection config', () => {
  it('loads the bundled defaults', () => {
    const cfg = loadDetectionConfig();
    expect(cfg.fusion.rules.some((r) => r.recommendation === 'revoke_key')).toBe(true);
  });

  it('overlays a partial override file', () => {
    const file = path.join(dir, 'override.json');
    writeFileSync(file, JSON.stringify({ burst: { windowMs: 120000 } }));
    const cfg = loadDetectionConfig(file);
    expect(cfg.burst.windowMs).toBe(120000);
    expect(cfg.burst.bucketMs).toBe(loadDetectionConfig().burst.bucketMs);
  });

  it('names every bad key', () => {
    const file = path.join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ fusion: { rules: [{ recommendation: 'nuke', when: {} }] } }));
    expect(() => loadDetectionConfig(file)).toThrow(
      /fusion\.rules\.0\.recommendation: .*fusion\.rules\.0\.when: empty condition/,
    );
  });

  it('checks relations between keys', () => {
    const file = path.join(dir, 'relations.json');
    writeFileSync(file, JSON.stringify({ burst: { bucketMs: 7000 }, reference: { lagMs: 30000 } }));
    expect(() => loadDetectionConfig(file)).toThrow(
      /burst\.bucketMs: must divide burst\.windowMs; reference\.lagMs/,
    );
  });
});

describe('runtime environment', () => {
  it('has defaults for everything but the service addresses', () => {
    const env = loadRuntimeEnv({});
    expect(env.KEYGUARD_TOPIC_ALERTS).toBe('keyguard.alerts');
    expect(env.KAFKA_BROKERS).toBeUndefined();
  });

  it('names each bad variable in one message', () => {
    expect(() =>
      loadRuntimeEnv({ KAFKA_BROKERS: 'localhost', REDIS_URL: 'http://x', LOG_LEVEL: 'loud' }),
    ).toThrow(/KAFKA_BROKERS="localhost".*\n.*REDIS_URL="http:\/\/x".*\n.*LOG_LEVEL="loud"/);
  });
});

describe('example configs', () => {
  it('config/market-feed.example.json and config/collect.example.json are valid', () => {
    expect(loadMarketFeedConfig('config/market-feed.example.json').venues.map((v) => v.exchange)).toEqual([
      'binance',
      'kucoin',
    ]);
    const collect = loadCollectConfig('config/collect.example.json');
    expect(collect.keys[0]).toMatchObject({ exchange: 'binance', credentialsEnv: 'KG_KEY_ACCT1' });
    expect(() => credentialsFor(collect.keys[0]!, {})).toThrow(/KG_KEY_ACCT1 is not set/);
    expect(credentialsFor(collect.keys[0]!, { KG_KEY_ACCT1: 'k:s:p' })).toEqual({
      apiKey: 'k',
      secret: 's',
      password: 'p',
    });
    expect(() =>
      parseMarketFeedConfig({ venues: [{ exchange: 'nosuchexchange', symbols: ['A/B'] }] }, 'test'),
    ).toThrow(/not an exchange ccxt knows/);
  });
});
