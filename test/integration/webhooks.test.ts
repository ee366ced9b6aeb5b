/**
 * The webhook dispatcher against a real Kafka, a real Redis and real HTTP receivers on 127.0.0.1
 * that verify signatures with the `standardwebhooks` library and deduplicate by webhook-id.
 */
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { Alert } from '../../src/events/schema.js';
import type { DeadLetter } from '../../src/pipeline/dead-letter.js';
import { collect, kafkaClient, testEnv } from '../helpers/kafka.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';
import {
  metricValue,
  newSecret,
  publishRecommendations,
  type RunningDispatcher,
  recommendation,
  startDispatcher,
} from '../helpers/webhooks.js';

const brokers = inject('kafkaBrokers');
const redisUrl = inject('redisUrl');
const kafka = kafkaClient(brokers);

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function receiver(secret: string, answer?: ConstructorParameters<typeof WebhookReceiver>[1]) {
  const r = await new WebhookReceiver(secret, answer).start();
  cleanups.push(() => r.close());
  return r;
}

async function dispatcher(
  env: ReturnType<typeof testEnv>,
  raw: Record<string, unknown>,
): Promise<RunningDispatcher> {
  const d = await startDispatcher(kafka, env, raw);
  cleanups.push(() => d.stop());
  return d;
}

function endpoint(id: string, r: WebhookReceiver, secret: string, over: Record<string, unknown> = {}) {
  return { id, url: r.url, secrets: [secret], timeoutMs: 1000, ...over };
}

const deadLetters = (env: ReturnType<typeof testEnv>, n: number) =>
  collect<DeadLetter>(kafka, env.KEYGUARD_TOPIC_WEBHOOK_DEAD_LETTER, (v) => v.length >= n, 20_000);

describe('webhook dispatcher', () => {
  it('delivers signed recommendations that verify; a 500, then a timeout, then a 200 give exactly one accepted delivery', async () => {
    const env = testEnv(brokers, redisUrl);
    const secret = newSecret();
    const script: Record<number, number | 'hang'> = { 1: 500, 2: 'hang', 3: 200 };
    const r = await receiver(secret, (_id, attempt) => script[attempt] ?? 200);
    const d = await dispatcher(env, { endpoints: [endpoint('platform', r, secret, { timeoutMs: 600 })] });
    const rec = recommendation();
    await publishRecommendations(kafka, env.KEYGUARD_TOPIC_RECOMMENDATIONS, [rec]);

    await r.waitFor(() => r.accepted.size === 1, 20_000, 'one accepted delivery');
    // Give a wrongly duplicated attempt time to show up before counting.
    await new Promise((res) => setTimeout(res, 1500));
    expect(r.requests.map((q) => q.answer)).toEqual([500, 'hang', 200]);
    expect(r.requests.every((q) => q.verified && q.id === rec.alertId)).toBe(true);
    const payload = r.accepted.get(rec.alertId) as { type: string; data: Alert };
    expect(payload.type).toBe('keyguard.recommendation.revoke_key');
    expect(payload.data).toMatchObject({
      alertId: rec.alertId,
      accountId: rec.accountId,
      apiKeyId: rec.apiKeyId,
      exchange: 'binance',
      recommendation: 'revoke_key',
      severity: 'critical',
      score: 0.95,
      valueAtRisk: 1234.5,
      signals: rec.signals,
    });
    // Each attempt is signed afresh: timestamps are seconds and never go back.
    const stamps = r.requests.map((q) => Number(q.headers['webhook-timestamp']));
    expect(stamps).toEqual([...stamps].sort((a, b) => a - b));
    expect(await metricValue(d.metrics.attempts, { endpoint: 'platform', result: '5xx' })).toBe(1);
    expect(await metricValue(d.metrics.attempts, { endpoint: 'platform', result: 'timeout' })).toBe(1);
    expect(await metricValue(d.metrics.attempts, { endpoint: 'platform', result: '2xx' })).toBe(1);
    expect(await metricValue(d.metrics.retriesScheduled, { endpoint: 'platform' })).toBe(2);
    expect(await metricValue(d.metrics.deliveries, { endpoint: 'platform', outcome: 'delivered' })).toBe(1);
  });

  it('signs with every configured secret during a rotation: a receiver holding either one verifies', async () => {
    const env = testEnv(brokers, redisUrl);
    const [oldSecret, newSecret_] = [newSecret(), newSecret()];
    const onOld = await receiver(oldSecret);
    const onNew = await receiver(newSecret_);
    await dispatcher(env, {
      endpoints: [
        endpoint('old', onOld, newSecret_, { secrets: [newSecret_, oldSecret] }),
        endpoint('new', onNew, newSecret_, { secrets: [newSecret_, oldSecret] }),
      ],
    });
    await publishRecommendations(kafka, env.KEYGUARD_TOPIC_RECOMMENDATIONS, [recommendation()]);
    await onOld.waitFor(() => onOld.accepted.size === 1, 15_000, 'delivery to the old-secret receiver');
    await onNew.waitFor(() => onNew.accepted.size === 1, 15_000, 'delivery to the new-secret receiver');
    expect(onOld.requests[0]?.headers['webhook-signature']?.split(' ')).toHaveLength(2);
  });

  it('filters by exchange, recommendation and minimum severity', async () => {
    const env = testEnv(brokers, redisUrl);
    const secret = newSecret();
    const r = await receiver(secret);
    await dispatcher(env, {
      endpoints: [
        endpoint('kucoin-critical', r, secret, {
          filter: { exchanges: ['kucoin'], recommendations: ['revoke_key'], minSeverity: 'critical' },
        }),
      ],
    });
    const wanted = recommendation({ exchange: 'kucoin' });
    const recs = [
      recommendation({ exchange: 'binance' }),
      recommendation({ exchange: 'kucoin', severity: 'high' }),
      recommendation({ exchange: 'kucoin', recommendation: 'freeze_account' }),
      wanted,
    ];
    await publishRecommendations(kafka, env.KEYGUARD_TOPIC_RECOMMENDATIONS, recs);
    await r.waitFor(() => r.accepted.size === 1, 15_000, 'the matching recommendation');
    await new Promise((res) => setTimeout(res, 1000));
    expect([...r.accepted.keys()]).toEqual([wanted.alertId]);
    expect(r.requests).toHaveLength(1);
  });

  it('a hanging endpoint does not hold up the others', async () => {
    const env = testEnv(brokers, redisUrl);
    const secret = newSecret();
    let hang = true;
    const slow = await receiver(secret, () => (hang ? 'hang' : 200));
    const fast = await receiver(secret);
    await dispatcher(env, {
      endpoints: [
        endpoint('slow', slow, secret, { timeoutMs: 30_000, maxConcurrency: 2, maxQueued: 3 }),
        endpoint('fast', fast, secret),
      ],
    });
    const recs = Array.from({ length: 20 }, () => recommendation());
    await publishRecommendations(kafka, env.KEYGUARD_TOPIC_RECOMMENDATIONS, recs);
    await fast.waitFor(() => fast.accepted.size === 20, 20_000, 'all 20 at the fast endpoint');
    // Every slow request is still open (its timeout is 30 s): the fast endpoint never waited for it.
    expect(slow.openRequests).toBeGreaterThan(0);
    expect(slow.requests.length).toBeLessThanOrEqual(2);
    hang = false;
    slow.release(200);
    await slow.waitFor(
      () => slow.accepted.size === 20,
      20_000,
      'all 20 at the slow endpoint once it answers',
    );
  });

  it('gives up after the configured attempts, dead-letters with the last error, and never follows a redirect', async () => {
    const env = testEnv(brokers, redisUrl);
    const secret = newSecret();
    const target = await receiver(secret);
    const r = await receiver(secret, () => ({ status: 302, headers: { location: target.url } }));
    const d = await dispatcher(env, {
      endpoints: [endpoint('moved', r, secret)],
      retry: { initialDelayMs: 100, maxDelayMs: 200, maxAttempts: 3, giveUpAfterMs: 60_000 },
    });
    const rec = recommendation();
    await publishRecommendations(kafka, env.KEYGUARD_TOPIC_RECOMMENDATIONS, [rec]);
    const [dead] = await deadLetters(env, 1);
    expect(dead?.code).toBe('KG_ERR_WEBHOOK_GAVE_UP');
    expect(dead?.reason).toMatch(/3 attempts failed; last error: HTTP 302: redirect not followed/);
    expect(r.requests).toHaveLength(3);
    expect(target.requests).toHaveLength(0);
    expect(await metricValue(d.metrics.deliveries, { endpoint: 'moved', outcome: 'gave_up' })).toBe(1);
    expect(await metricValue(d.metrics.attempts, { endpoint: 'moved', result: '3xx' })).toBe(3);
  });

  it('honours Retry-After', async () => {
    const env = testEnv(brokers, redisUrl);
    const secret = newSecret();
    const r = await receiver(secret, (_id, attempt) =>
      attempt === 1 ? { status: 429, headers: { 'retry-after': '2' } } : 200,
    );
    await dispatcher(env, { endpoints: [endpoint('busy', r, secret)] });
    await publishRecommendations(kafka, env.KEYGUARD_TOPIC_RECOMMENDATIONS, [recommendation()]);
    await r.waitFor(() => r.accepted.size === 1, 15_000, 'the delivery after Retry-After');
    // Backoff alone would have retried within 200 ms; the receiver asked for 2 s.
    expect(r.requests[1]!.at - r.requests[0]!.at).toBeGreaterThanOrEqual(1900);
  });

  it('an invalid recommendation record is dead-lettered with its reason; the valid ones around it are delivered', async () => {
    const env = testEnv(brokers, redisUrl);
    const secret = newSecret();
    const r = await receiver(secret);
    const d = await dispatcher(env, { endpoints: [endpoint('platform', r, secret)] });
    const [a, b] = [recommendation(), recommendation()];
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({
      topic: env.KEYGUARD_TOPIC_RECOMMENDATIONS,
      messages: [
        { key: 'x', value: JSON.stringify(a) },
        { key: 'x', value: '{"alertId": "broken", "apiSecret": "s3cr3t"' },
        { key: 'x', value: JSON.stringify({ ...b, alertId: 'no-score', score: 'high' }) },
        { key: 'x', value: JSON.stringify(b) },
      ],
    });
    await producer.disconnect();
    await r.waitFor(() => r.accepted.size === 2, 15_000, 'the two valid recommendations');
    const dead = await deadLetters(env, 2);
    expect(dead.map((x) => x.code)).toEqual([
      'KG_ERR_RECOMMENDATION_INVALID',
      'KG_ERR_RECOMMENDATION_INVALID',
    ]);
    expect(dead[0]?.reason).toMatch(/not JSON/);
    expect(dead[1]?.reason).toMatch(/score/);
    expect(await metricValue(d.metrics.recommendationsConsumed, { result: 'invalid' })).toBe(2);
  });

  it('dry run sends nothing, counts and commits what would have been sent', async () => {
    const env = testEnv(brokers, redisUrl);
    const secret = newSecret();
    const r = await receiver(secret);
    const d = await dispatcher(env, { endpoints: [endpoint('platform', r, secret)], dryRun: true });
    await publishRecommendations(kafka, env.KEYGUARD_TOPIC_RECOMMENDATIONS, [
      recommendation(),
      recommendation(),
    ]);
    const deadline = Date.now() + 15_000;
    while ((await metricValue(d.metrics.deliveries, { outcome: 'dry_run' })) < 2 && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 50));
    }
    expect(await metricValue(d.metrics.deliveries, { outcome: 'dry_run' })).toBe(2);
    expect(r.requests).toHaveLength(0);
  });

  it('a second dispatcher joining mid-stream (a rebalance) loses nothing', async () => {
    const env = testEnv(brokers, redisUrl);
    const secret = newSecret();
    const r = await receiver(secret);
    const raw = { endpoints: [endpoint('platform', r, secret)], breaker: { maxActions: 1000 } };
    await dispatcher(env, raw);
    const first = Array.from({ length: 20 }, () => recommendation({ timestamp: Date.now() }));
    await publishRecommendations(kafka, env.KEYGUARD_TOPIC_RECOMMENDATIONS, first);
    await dispatcher(env, raw);
    const second = Array.from({ length: 20 }, () => recommendation({ timestamp: Date.now() }));
    await publishRecommendations(kafka, env.KEYGUARD_TOPIC_RECOMMENDATIONS, second);
    await r.waitFor(() => r.accepted.size === 40, 30_000, 'all 40 deliveries');
    expect([...r.accepted.keys()].sort()).toEqual([...first, ...second].map((x) => x.alertId).sort());
    expect(r.requests.every((q) => q.verified)).toBe(true);
  });
});

// The dispatcher's Redis state (disabled endpoints, the breaker's script) on one server and on a cluster.
describe.each([
  ['redis', redisUrl],
  ['redis cluster', inject('redisClusterUrl')],
])('webhook dispatcher state on %s', (_kind, url) => {
  it('410 Gone disables the endpoint: later deliveries are dead-lettered, others continue; --enable restores it', async () => {
    const env = testEnv(brokers, url);
    const secret = newSecret();
    let gone = true;
    const retired = await receiver(secret, () => (gone ? 410 : 200));
    const live = await receiver(secret);
    const d = await dispatcher(env, {
      endpoints: [
        endpoint('retired', retired, secret, { maxConcurrency: 1 }),
        endpoint('live', live, secret),
      ],
    });
    const first = [recommendation()];
    await publishRecommendations(kafka, env.KEYGUARD_TOPIC_RECOMMENDATIONS, first);
    await retired.waitFor(() => retired.requests.length === 1, 15_000, 'the 410');
    const later = Array.from({ length: 4 }, () => recommendation());
    await publishRecommendations(kafka, env.KEYGUARD_TOPIC_RECOMMENDATIONS, later);
    await live.waitFor(() => live.accepted.size === 5, 15_000, 'all 5 at the live endpoint');

    const dead = await deadLetters(env, 5);
    expect(dead).toHaveLength(5);
    expect(dead.every((x) => x.code === 'KG_ERR_WEBHOOK_ENDPOINT_DISABLED')).toBe(true);
    expect(dead[0]?.reason).toMatch(/410 Gone/);
    const original = JSON.parse(Buffer.from(dead[4]!.originalBase64, 'base64').toString('utf8'));
    expect(original).toMatchObject({ endpointId: 'retired', webhookId: expect.any(String) });
    expect(retired.requests).toHaveLength(1);
    expect(await metricValue(d.metrics.endpointDisabled, { endpoint: 'retired' })).toBe(1);

    // The platform fixed its receiver: an operator re-enables the endpoint.
    gone = false;
    expect(await d.dispatcher.enableEndpoint('retired')).toBe(true);
    const after = recommendation();
    await publishRecommendations(kafka, env.KEYGUARD_TOPIC_RECOMMENDATIONS, [after]);
    await retired.waitFor(() => retired.accepted.has(after.alertId), 15_000, 'delivery after --enable');
  });

  it('the revocation breaker turns automatic actions into reviews above the configured rate, announces it once, and resets', async () => {
    const env = testEnv(brokers, url);
    const secret = newSecret();
    const r = await receiver(secret);
    const d = await dispatcher(env, {
      endpoints: [endpoint('platform', r, secret)],
      breaker: { windowMs: 60_000, maxActions: 3, cooldownMs: 120_000 },
    });
    const t = Date.now() - 3_600_000;
    const storm = Array.from({ length: 6 }, (_, i) => recommendation({ timestamp: t + i * 1000 }));
    await publishRecommendations(kafka, env.KEYGUARD_TOPIC_RECOMMENDATIONS, storm);
    await r.waitFor(() => r.accepted.size === 6, 15_000, 'six deliveries');
    const sent = storm.map(
      (s) => (r.accepted.get(s.alertId) as { data: Alert & { breaker?: unknown } }).data,
    );
    // The storm arrives from three partitions in no particular order: three go through, three are held back.
    expect(sent.filter((s) => s.recommendation === 'revoke_key')).toHaveLength(3);
    const held = sent.filter((s) => s.recommendation === 'review');
    expect(held).toHaveLength(3);
    for (const s of held) {
      expect(s.breaker).toMatchObject({ downgradedFrom: 'revoke_key', maxActions: 3 });
      expect((s.breaker as { actionsInWindow: number }).actionsInWindow).toBeGreaterThan(3);
    }

    // After the cooldown (event time), automatic actions go through again.
    const calm = recommendation({ timestamp: t + 10 * 60_000 });
    await publishRecommendations(kafka, env.KEYGUARD_TOPIC_RECOMMENDATIONS, [calm]);
    await r.waitFor(() => r.accepted.has(calm.alertId), 15_000, 'the delivery after the cooldown');
    expect((r.accepted.get(calm.alertId) as { data: Alert }).data.recommendation).toBe('revoke_key');

    const alerts = await collect<Alert>(kafka, env.KEYGUARD_TOPIC_ALERTS, (v) => v.length > 1, 3000);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      scope: 'platform',
      severity: 'critical',
      recommendation: 'review',
      signals: [{ detector: 'revocation_breaker', evidence: { actionsInWindow: 4, maxActions: 3 } }],
    });
    expect(await metricValue(d.metrics.breakerTrips)).toBe(1);
    expect(await metricValue(d.metrics.downgraded, { recommendation: 'revoke_key' })).toBe(3);
  });
});
