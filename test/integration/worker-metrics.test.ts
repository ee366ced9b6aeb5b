import { afterAll, describe, expect, inject, it } from 'vitest';
import { isMarketEvent } from '../../src/events/schema.js';
import { createLogger } from '../../src/logger.js';
import { dashboards } from '../../src/observability/dashboards.js';
import { type OpsServer, startOpsServer } from '../../src/observability/http-server.js';
import { WorkerMetrics } from '../../src/observability/metrics.js';
import { syntheticScenario } from '../../src/simulate/synthetic-scenario.js';
import { RedisBaselineStore } from '../../src/state/redis-store.js';
import { Worker } from '../../src/worker/worker.js';
import { fastForwardConfig } from '../helpers/fast-forward.js';
import { createTopics, kafkaClient, produce, produceInOrder, testEnv } from '../helpers/kafka.js';
import { expectPanelsHaveData, sample } from '../helpers/metrics.js';
import { waitUntilConsumed } from '../helpers/worker-process.js';

const cleanup: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

describe('worker metrics and health endpoints', () => {
  it('reports consumption, alerts, dead letters, Redis round trips and batches, with bounded labels; every fleet and detection panel query returns data', async () => {
    const brokers = inject('kafkaBrokers');
    const env = testEnv(brokers, inject('redisUrl'));
    const kafka = kafkaClient(brokers);
    await createTopics(kafka, env);
    const cfg = fastForwardConfig();
    const metrics = new WorkerMetrics();
    const store = new RedisBaselineStore({
      url: env.REDIS_URL!,
      keyPrefix: env.KEYGUARD_REDIS_PREFIX,
      ttlSeconds: 3600,
      onRoundTrip: (operation, seconds) => metrics.redisRoundTrip.observe({ operation }, seconds),
    });
    const worker = new Worker({
      kafka: kafkaClient(brokers),
      env,
      cfg,
      store,
      metrics,
      log: createLogger('silent'),
    });
    const ops: OpsServer = await startOpsServer(0, metrics.registry, () => worker.readiness());
    cleanup.push(async () => {
      await ops.close();
      await worker.stop();
      await store.close();
    });
    const url = (path: string) => `http://127.0.0.1:${ops.port}${path}`;
    expect((await fetch(url('/healthz'))).status).toBe(200);
    expect((await fetch(url('/readyz'))).status).toBe(503); // not started yet

    await worker.start();
    const scenario = syntheticScenario({
      seed: 8,
      days: 2,
      accounts: 12,
      victims: 1,
      attackStrength: 'strong',
    });
    await produceInOrder(kafka, env, scenario.events);
    await produce(kafka, new Map([[env.KEYGUARD_TOPIC_ORDERS, [{ key: 'x', value: 'not json' }]]]));
    await waitUntilConsumed(kafka, env, 60_000);

    const ready = await fetch(url('/readyz'));
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true, consumerGroupJoined: true, store: true });
    const text = await (await fetch(url('/metrics'))).text();
    const orders = scenario.events.filter((e) => e.kind === 'order').length;
    expect(sample(text, 'keyguard_events_consumed_total', { kind: 'order' })).toBe(orders);
    expect(sample(text, 'keyguard_events_consumed_total', { kind: 'invalid' })).toBe(1);
    expect(sample(text, 'keyguard_dead_letters_total', { code: 'KG_ERR_EVENT_NOT_JSON' })).toBe(1);
    expect(sample(text, 'keyguard_alerts_total', { recommendation: 'revoke_key' })).toBeGreaterThanOrEqual(1);
    expect(
      sample(text, 'keyguard_alert_signals_total', { detector: 'off_market_fill' }),
    ).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'keyguard_redis_round_trip_seconds_count', { operation: 'load' })).toBeGreaterThan(0);
    expect(sample(text, 'keyguard_batch_records_count')).toBeGreaterThan(0);
    expect(sample(text, 'keyguard_kafka_append_to_alert_seconds_count')).toBeGreaterThanOrEqual(1);
    // Every decoded account record is timed (orders, fills, key events), not only those that alert;
    // the bad record is not.
    const accountRecords = scenario.events.filter((e) => !isMarketEvent(e)).length;
    expect(sample(text, 'keyguard_kafka_append_to_processed_seconds_count')).toBe(accountRecords);
    expect(sample(text, 'keyguard_consumer_lag_records')).toBe(0);
    // Default process metrics under their standard names; no label name inside a metric name.
    expect(text).toMatch(/^process_cpu_seconds_total /m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
    expect(text).not.toMatch(/^keyguard_(process|nodejs)_/m);
    expect(text.match(/^keyguard_\w*_by_\w*/gm) ?? []).toEqual([]);
    // Bounded labels: no account or key id is ever a label value.
    expect(text).not.toMatch(/acct-a\d+/);

    // A real Prometheus scrapes the worker: every fleet and detection panel's query returns data.
    const stopPrometheus = await expectPanelsHaveData(
      `127.0.0.1:${ops.port}`,
      dashboards().filter((x) => x.uid === 'keyguard-fleet' || x.uid === 'keyguard-detection'),
    );
    cleanup.push(stopPrometheus);
  }, 180_000);
});
