import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { RUNTIME_ENV_VARS } from '../../src/config/runtime.js';
import { loadMarketFeedConfig } from '../../src/market-data/feed-config.js';
import { loadWebhookConfig } from '../../src/webhooks/webhook-config.js';

// No Docker engine runs here: this checks the file users run instead.
const compose = parse(readFileSync('docker-compose.yml', 'utf8')) as {
  services: Record<string, { image?: string; environment?: Record<string, string>; volumes?: string[] }>;
};

describe('docker-compose.yml', () => {
  it('has Kafka 3.9 (KRaft), Redis, Prometheus, Grafana, the worker, the market feed and the dispatcher', () => {
    expect(Object.keys(compose.services).sort()).toEqual([
      'grafana',
      'kafka',
      'keyguard-market-feed',
      'keyguard-webhooks',
      'keyguard-worker',
      'prometheus',
      'redis',
    ]);
    expect(compose.services.kafka!.image).toMatch(/^apache\/kafka:3\.9\./);
    expect(compose.services.kafka!.environment!.KAFKA_PROCESS_ROLES).toBe('broker,controller');
    expect(compose.services.redis!.image).toMatch(/^redis:7/);
  });

  it('wires the worker and the dispatcher with exactly the variables the code reads', () => {
    const env = compose.services['keyguard-worker']!.environment!;
    for (const name of Object.keys(env)) expect(RUNTIME_ENV_VARS).toContain(name);
    expect(env.KAFKA_BROKERS).toBe('kafka:9092');
    expect(env.REDIS_URL).toBe('redis://redis:6379');
    const hooks = compose.services['keyguard-webhooks']!.environment!;
    const file = hooks.KEYGUARD_WEBHOOKS_CONFIG!;
    const cfg = loadWebhookConfig(file, hooks);
    for (const name of Object.keys(hooks)) {
      if (!name.startsWith('KEYGUARD_WEBHOOK_SECRETS_')) expect(RUNTIME_ENV_VARS).toContain(name);
    }
    expect(cfg.endpoints.every((e) => e.dryRun)).toBe(true);
    const feed = compose.services['keyguard-market-feed']!.environment!;
    for (const name of Object.keys(feed)) expect(RUNTIME_ENV_VARS).toContain(name);
    expect(loadMarketFeedConfig(feed.KEYGUARD_MARKET_FEED_CONFIG!).venues.length).toBeGreaterThan(0);
  });

  it('mounts configuration files that exist', () => {
    for (const service of Object.values(compose.services)) {
      for (const volume of service.volumes ?? []) {
        const host = volume.split(':')[0]!;
        if (host.startsWith('./')) expect(existsSync(host), host).toBe(true);
      }
    }
  });
});
