/**
 * The worker process's metrics, fed by its consumer stages' instrumentation events (the worker
 * and the campaign aggregator) instead of calls from inside the stages.
 */
import { STAGE_EVENTS, type StageInstrumentation } from '../pipeline/instrumentation.js';
import type { WorkerMetrics } from './metrics.js';

/** Counts what a stage reports. `latency`: the alerts' event → alert and append → alert histograms. */
export function recordStageMetrics(
  instrumentation: StageInstrumentation,
  metrics: WorkerMetrics,
  opts: { retryLabelPrefix?: string } = {},
): void {
  const prefix = opts.retryLabelPrefix ? `${opts.retryLabelPrefix} ` : '';
  instrumentation.on(STAGE_EVENTS.CONSUMED, ({ topic, partition, kinds, lag }) => {
    for (const kind in kinds) metrics.eventsConsumed.inc({ topic, kind }, kinds[kind]);
    if (lag !== undefined) metrics.consumerLag.set({ topic, partition: String(partition) }, lag);
  });
  instrumentation.on(STAGE_EVENTS.RETRY, ({ step }) => metrics.retries.inc({ stage: `${prefix}${step}` }));
  instrumentation.on(STAGE_EVENTS.PUBLISHED, ({ alerts, deadLetters, appendedAt, observations }) => {
    const now = Date.now();
    if (observations !== undefined) metrics.campaignObservations.inc(observations);
    if (appendedAt)
      for (const at of appendedAt.values()) metrics.appendToProcessed.observe(Math.max(0, now - at) / 1000);
    for (const a of alerts) {
      metrics.alerts.inc({ severity: a.severity, recommendation: a.recommendation });
      if (a.symbol) metrics.symbolAlerts.inc({ symbol: a.symbol });
      for (const s of a.signals) metrics.signals.inc({ detector: s.detector });
      if (!appendedAt) continue; // a campaign alert: its value and latency are its members'
      if (a.valueAtRisk !== undefined)
        metrics.valueAtRisk.inc({ currency: a.valueAtRiskCurrency ?? '' }, a.valueAtRisk);
      metrics.eventToAlert.observe(Math.max(0, now - a.timestamp) / 1000);
      const appended = appendedAt.get(a.eventIds[a.eventIds.length - 1] ?? '');
      if (appended !== undefined) metrics.appendToAlert.observe(Math.max(0, now - appended) / 1000);
    }
    for (const d of deadLetters)
      metrics.deadLetters.inc({ code: String(d.headers?.['keyguard-error-code'] ?? 'unknown') });
  });
  instrumentation.on(STAGE_EVENTS.PAUSED, ({ partitions }) => metrics.pausedPartitions.set(partitions));
  instrumentation.on(STAGE_EVENTS.MARKET_WAIT_TIMEOUT, () => metrics.marketWaitTimeouts.inc());
  instrumentation.on(STAGE_EVENTS.BATCH_DONE, ({ stage, records, ms }) => {
    if (stage === 'campaign') {
      metrics.campaignBatches.inc();
      return;
    }
    metrics.batchSize.observe(records);
    metrics.batchDuration.observe(ms / 1000);
  });
}
