import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { RUNTIME_ENV_VARS } from '../../src/config/runtime.js';
import { loadMarketFeedConfig } from '../../src/market-data/feed-config.js';
import { loadWebhookConfig } from '../../src/webhooks/webhook-config.js';

// No Docker engine runs here: this checks the file users run instead.
interface Service {
  image?: string;
  build?: string;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }> | string[];
}
const compose = parse(readFileSync('docker-compose.yml', 'utf8')) as { services: Record<string, Service> };
const dockerfile = readFileSync('Dockerfile', 'utf8');

/** The CLI's commands, from its dispatch in src/main.ts. */
const COMMANDS = [...readFileSync('src/main.ts', 'utf8').matchAll(/case '([a-z-]+)':/g)].map((m) => m[1]!);

/** The variables a command refuses to start without: the condition it checks first. */
function requiredVariables(command: string): string[] {
  const source = readFileSync(`src/cli/${command}-command.ts`, 'utf8');
  const check = /if \((!env\.[A-Z_]+(?: \|\| !env\.[A-Z_]+)*)\)/.exec(source);
  return check ? [...check[1]!.matchAll(/env\.([A-Z_]+)/g)].map((m) => m[1]!) : [];
}

describe('docker-compose.yml', () => {
  it('has Kafka 3.9 (KRaft), Redis, Prometheus, Grafana, the worker, the market feed, the dispatcher and a simulator', () => {
    expect(Object.keys(compose.services).sort()).toEqual([
      'grafana',
      'kafka',
      'keyguard-market-feed',
      'keyguard-simulator',
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

  it('runs every keyguard service from the image of the Dockerfile: a real command, its required variables set, healthy before its dependants start', () => {
    const keyguard = Object.entries(compose.services).filter(([name]) => name.startsWith('keyguard-'));
    expect(keyguard.length).toBe(4);
    // The simulator publishes a stream with attacks to the topics the worker reads.
    const simulator = compose.services['keyguard-simulator']!;
    expect(simulator.command!.slice(0, 2)).toEqual(['simulate', '--to-kafka']);
    expect(Number(simulator.command![simulator.command!.indexOf('--victims') + 1])).toBeGreaterThan(0);
    const worker = compose.services['keyguard-worker']!.environment!;
    for (const topic of [
      'KEYGUARD_TOPIC_ORDERS',
      'KEYGUARD_TOPIC_FILLS',
      'KEYGUARD_TOPIC_MARKET',
      'KEYGUARD_TOPIC_APIKEYS',
    ])
      expect(simulator.environment![topic], topic).toBe(worker[topic]);
    for (const [name, service] of keyguard) {
      expect(service.build, name).toBe('.');
      expect(service.image, name).toBe('keyguard:local');
      const command = service.command![0]!;
      expect(COMMANDS, name).toContain(command);
      const required = requiredVariables(command);
      expect(required.length, `${command} names what it needs`).toBeGreaterThan(0);
      for (const variable of required)
        expect(service.environment?.[variable], `${name}: ${variable}`).toBeTruthy();
      // Config files named by the environment are in the image (config/ is copied).
      for (const value of Object.values(service.environment ?? {}))
        if (value.startsWith('config/')) expect(existsSync(value), value).toBe(true);
    }
    for (const [name, service] of Object.entries(compose.services)) {
      const deps = service.depends_on ?? {};
      expect(Array.isArray(deps), `${name}: depends_on with conditions`).toBe(false);
      for (const [dep, { condition }] of Object.entries(deps)) {
        expect(condition, `${name} → ${dep}`).toBe('service_healthy');
        const target = compose.services[dep]!;
        expect(
          target.healthcheck !== undefined || target.image === 'keyguard:local',
          `${dep} has a healthcheck`,
        ).toBe(true);
      }
    }
  });

  it('pins every image it pulls', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (service.image === 'keyguard:local') continue;
      expect(service.image, name).toMatch(/:v?\d+\.\d+\.\d+(-[a-z]+)?$/);
    }
    for (const from of dockerfile.matchAll(/^FROM (\S+)/gm)) expect(from[1]).toMatch(/:\d+\.\d+\.\d+-/);
  });

  it('builds in two stages: a runtime of production dependencies and dist/, as a non-root user, with a health check', () => {
    const stages = dockerfile.split(/^FROM /m).slice(1);
    expect(stages.map((st) => st.split('\n')[0])).toEqual([
      'node:20.18.1-bookworm-slim AS build',
      'node:20.18.1-bookworm-slim AS runtime',
    ]);
    const runtime = stages[1]!;
    expect(runtime).toMatch(/npm ci --omit=dev/);
    expect(runtime).toMatch(/COPY --from=build \/app\/dist dist/);
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).toMatch(/^HEALTHCHECK .*\/healthz/ms);
    expect(runtime).toMatch(/^ENTRYPOINT \["node", "bin\/keyguard.js"\]$/m);
    // Everything it copies from the context exists (and is not excluded by .dockerignore).
    const ignored = readFileSync('.dockerignore', 'utf8').split('\n').filter(Boolean);
    for (const copy of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm))
      for (const source of copy[1]!.split(' ')) {
        expect(existsSync(source), source).toBe(true);
        expect(
          ignored.some((i) => source === i || source.startsWith(`${i}/`)),
          `${source} is ignored`,
        ).toBe(false);
      }
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
