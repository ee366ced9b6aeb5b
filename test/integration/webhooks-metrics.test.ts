import { afterAll, describe, expect, inject, it } from 'vitest';
import { dashboards } from '../../src/observability/dashboards.js';
import { startOpsServer } from '../../src/observability/http-server.js';
import { kafkaClient, testEnv } from '../helpers/kafka.js';
import { expectPanelsHaveData, sample } from '../helpers/metrics.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';
import { newSecret, publishRecommendations, recommendation, startDispatcher } from '../helpers/webhooks.js';

const cleanup: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

describe('webhook dispatcher metrics and health endpoints', () => {
  it('reports deliveries, attempts, retries and the breaker; every webhooks panel query returns data in Prometheus', async () => {
    const brokers = inject('kafkaBrokers');
    const env = testEnv(brokers, inject('redisUrl'));
    const kafka = kafkaClient(brokers);
    const secret = newSecret();
    const receiver = await new WebhookReceiver(secret, (_id, attempt) => (attempt === 1 ? 503 : 200)).start();
    cleanup.push(() => receiver.close());
    const d = await startDispatcher(
      kafka,
      env,
      {
        endpoints: [{ id: 'platform', url: receiver.url, secrets: [secret], timeoutMs: 1000 }],
        breaker: { windowMs: 60_000, maxActions: 3, cooldownMs: 60_000 },
      },
      true,
    );
    cleanup.push(() => d.stop());
    const ops = await startOpsServer(0, d.metrics.registry, () => d.dispatcher.readiness());
    cleanup.push(() => ops.close());
    const url = (path: string) => `http://127.0.0.1:${ops.port}${path}`;

    const recs = Array.from({ length: 5 }, () => recommendation({ timestamp: Date.now() }));
    await publishRecommendations(kafka, env.KEYGUARD_TOPIC_RECOMMENDATIONS, recs);
    await receiver.waitFor(() => receiver.accepted.size === 5, 20_000, 'five deliveries');

    expect((await fetch(url('/readyz'))).status).toBe(200);
    const text = await (await fetch(url('/metrics'))).text();
    expect(
      sample(text, 'keyguard_webhook_deliveries_total', { endpoint: 'platform', outcome: 'delivered' }),
    ).toBe(5);
    expect(sample(text, 'keyguard_webhook_attempts_total', { result: '5xx' })).toBe(5);
    expect(sample(text, 'keyguard_webhook_retries_scheduled_total')).toBe(5);
    expect(sample(text, 'keyguard_webhook_publish_to_delivered_seconds_count')).toBe(5);
    expect(sample(text, 'keyguard_webhook_breaker_trips_total')).toBe(1);
    expect(sample(text, 'keyguard_webhook_breaker_open')).toBe(1);
    expect(sample(text, 'keyguard_webhook_downgraded_total', { recommendation: 'revoke_key' })).toBe(2);
    // Default process metrics under their standard names; no label name inside a metric name.
    expect(text).toMatch(/^process_cpu_seconds_total /m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
    expect(text).not.toMatch(/^keyguard_(process|nodejs)_/m);
    expect(text.match(/^keyguard_\w*_by_\w*/gm) ?? []).toEqual([]);
    // Bounded labels: no recommendation, account or key id is ever a label value.
    for (const r of recs) {
      expect(text).not.toContain(r.alertId);
      expect(text).not.toContain(`"${r.accountId}"`);
    }

    const stopPrometheus = await expectPanelsHaveData(
      `127.0.0.1:${ops.port}`,
      dashboards().filter((x) => x.uid === 'keyguard-webhooks'),
    );
    cleanup.push(stopPrometheus);
  }, 120_000);
});
