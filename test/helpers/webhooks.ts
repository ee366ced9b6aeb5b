import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import type { Counter, Gauge } from 'prom-client';
import type { RuntimeEnv } from '../../src/config/runtime.js';
import type { Alert } from '../../src/events/schema.js';
import { createLogger } from '../../src/logger.js';
import { WebhookMetrics } from '../../src/observability/webhook-metrics.js';
import { type RedisClient, redisConnection } from '../../src/state/redis-connection.js';
import { WebhookDispatcher } from '../../src/webhooks/dispatcher.js';
import { parseWebhookConfig } from '../../src/webhooks/webhook-config.js';
import { T0 } from './events.js';

export function newSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

let counter = 0;

/** A revoke_key recommendation as the worker publishes it. */
export function recommendation(over: Partial<Alert> = {}): Alert {
  const i = ++counter;
  return {
    alertId: `rec-${randomUUID().slice(0, 8)}-${i}`,
    exchange: 'binance',
    accountId: `acct-${i}`,
    apiKeyId: `key-${i}`,
    timestamp: T0 + i * 1000,
    severity: 'critical',
    score: 0.95,
    recommendation: 'revoke_key',
    signals: [
      {
        detector: 'off_market_fill',
        score: 0.9,
        evidence: { fillPrice: 1.3, referencePrice: 1, deviation: 0.3, summary: 'fill 30% above reference' },
      },
    ],
    eventIds: [`fill-${i}`],
    symbol: 'XYZ/USDT',
    valueAtRisk: 1234.5,
    valueAtRiskCurrency: 'USDT',
    ...over,
  };
}

export async function publishRecommendations(
  kafka: Kafka,
  topic: string,
  recs: readonly Alert[],
): Promise<void> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  await producer.send({
    topic,
    acks: -1,
    messages: recs.map((r) => ({ key: r.accountId, value: JSON.stringify(r) })),
  });
  await producer.disconnect();
}

/** Test-speed retries unless the test says otherwise. */
export function webhookConfig(raw: Record<string, unknown>): Record<string, unknown> {
  return {
    allowHttpHosts: ['127.0.0.1'],
    retry: { initialDelayMs: 200, maxDelayMs: 1000, maxAttempts: 6, giveUpAfterMs: 60_000 },
    ...raw,
  };
}

export function writeWebhookConfig(raw: Record<string, unknown>): string {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'keyguard-webhooks-')), 'webhooks.json');
  writeFileSync(file, JSON.stringify(webhookConfig(raw)));
  return file;
}

export interface RunningDispatcher {
  dispatcher: WebhookDispatcher;
  metrics: WebhookMetrics;
  redis: RedisClient;
  stop(): Promise<void>;
}

/** A dispatcher in this process (the kill test runs one as a child process instead). */
export async function startDispatcher(
  kafka: Kafka,
  env: RuntimeEnv,
  raw: Record<string, unknown>,
  processMetrics = false,
): Promise<RunningDispatcher> {
  const cfg = parseWebhookConfig(webhookConfig(raw), 'test', {});
  const redis = redisConnection(env.REDIS_URL ?? '');
  redis.on('error', () => undefined); // outages are part of some tests; the dispatcher retries
  const metrics = new WebhookMetrics(
    cfg.endpoints.map((e) => e.id),
    processMetrics,
  );
  const dispatcher = new WebhookDispatcher({
    kafka,
    redis,
    env,
    cfg,
    metrics,
    log: createLogger(process.env.TEST_LOG ?? 'error'),
  });
  await dispatcher.start();
  return {
    dispatcher,
    metrics,
    redis,
    stop: async () => {
      await dispatcher.stop();
      redis.disconnect();
    },
  };
}

export async function metricValue(
  metric: Counter<string> | Gauge<string>,
  labels: Record<string, string> = {},
): Promise<number> {
  const { values } = await metric.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))
    .reduce((s, v) => s + v.value, 0);
}
