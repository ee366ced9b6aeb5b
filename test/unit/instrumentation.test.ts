import { describe, expect, it } from 'vitest';
import { WorkerMetrics } from '../../src/observability/metrics.js';
import { recordStageMetrics } from '../../src/observability/stage-metrics.js';
import { alertRecords } from '../../src/pipeline/alert-routing.js';
import { STAGE_EVENTS, StageInstrumentation } from '../../src/pipeline/instrumentation.js';
import { recommendation } from '../helpers/webhooks.js';

describe('stage instrumentation', () => {
  it('reaches listeners only, and unsubscribes', () => {
    const events = new StageInstrumentation();
    expect(events.has(STAGE_EVENTS.RETRY)).toBe(false);
    const seen: string[] = [];
    const off = events.on(STAGE_EVENTS.RETRY, (p) => seen.push(`${p.stage}:${p.step}:${p.attempt}`));
    events.emit(STAGE_EVENTS.RETRY, {
      stage: 'worker',
      step: 'publish',
      attempt: 1,
      delayMs: 100,
      error: 'x',
    });
    off();
    events.emit(STAGE_EVENTS.RETRY, {
      stage: 'worker',
      step: 'publish',
      attempt: 2,
      delayMs: 200,
      error: 'x',
    });
    expect(seen).toEqual(['worker:publish:1']);
  });

  it('feeds the worker metrics: consumed by kind, retries by step, alerts, dead letters, batches', async () => {
    const events = new StageInstrumentation();
    const metrics = new WorkerMetrics();
    recordStageMetrics(events, metrics);
    events.emit(STAGE_EVENTS.CONSUMED, {
      stage: 'worker',
      topic: 'o',
      partition: 0,
      kinds: { order: 3, invalid: 1 },
      lag: 7,
    });
    events.emit(STAGE_EVENTS.RETRY, {
      stage: 'worker',
      step: 'save baselines',
      attempt: 1,
      delayMs: 1,
      error: 'x',
    });
    const alert = recommendation({ recommendation: 'revoke_key' });
    events.emit(STAGE_EVENTS.PUBLISHED, {
      stage: 'worker',
      alerts: [alert],
      deadLetters: [{ value: '{}', headers: { 'keyguard-error-code': 'KG_ERR_EVENT_INVALID' } }],
      appendedAt: new Map(),
      observations: 2,
    });
    events.emit(STAGE_EVENTS.BATCH_DONE, { stage: 'worker', partitions: [0], records: 4, ms: 12 });
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/keyguard_events_consumed_total\{topic="o",kind="order"\} 3/);
    expect(text).toMatch(/keyguard_events_consumed_total\{topic="o",kind="invalid"\} 1/);
    expect(text).toMatch(/keyguard_consumer_lag_records\{topic="o",partition="0"\} 7/);
    expect(text).toMatch(/keyguard_retries_total\{stage="save baselines"\} 1/);
    expect(text).toMatch(/keyguard_alerts_total\{severity="critical",recommendation="revoke_key"\} 1/);
    expect(text).toMatch(/keyguard_dead_letters_total\{code="KG_ERR_EVENT_INVALID"\} 1/);
    expect(text).toMatch(/keyguard_campaign_observations_total 2/);
    expect(text).toMatch(/keyguard_batch_records_count 1/);
  });
});

describe('alert routing', () => {
  it('every alert to the alerts topic, automatic actions also to the recommendations topic', () => {
    const review = recommendation({ recommendation: 'review' });
    const revoke = recommendation({ recommendation: 'revoke_key' });
    const [alerts, actions] = alertRecords([review, revoke], { alerts: 'a', recommendations: 'r' });
    expect(alerts!.topic).toBe('a');
    expect(alerts!.messages.map((m) => JSON.parse(String(m.value)).alertId)).toEqual([
      review.alertId,
      revoke.alertId,
    ]);
    expect(actions!.topic).toBe('r');
    expect(actions!.messages.map((m) => [m.key, JSON.parse(String(m.value)).alertId])).toEqual([
      [revoke.accountId, revoke.alertId],
    ]);
  });
});
