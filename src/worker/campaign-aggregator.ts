/**
 * The campaign aggregator's consumer: its own consumer group on the observations topic, run by
 * every worker process, so the topic's partitions — and with them the symbols and key labels, which
 * are the records' keys — are shared out among the workers. Per fetched batch: decode (a bad record
 * goes to the dead-letter topic with its reason) → load the groups (one Redis round trip) → fold →
 * publish alerts and recommendations and wait for the acks → save the groups (one round trip,
 * refused if stale) → commit the offsets. A failure pauses the partition and retries; a crash
 * anywhere redoes the batch with the same alert ids.
 */
import type { EachBatchPayload, Kafka, Message } from 'kafkajs';
import { CampaignEngine, type SequencedObservation } from '../campaign/campaign-engine.js';
import type { CampaignStore } from '../campaign/campaign-store.js';
import type { DetectionConfig } from '../config/detection.js';
import type { RuntimeEnv } from '../config/runtime.js';
import { ErrorCodes } from '../errors.js';
import { decodeRecord } from '../events/decode.js';
import { observationRecord, observationSchema } from '../events/observation.js';
import type { AckedProducer } from '../kafka/acked-producer.js';
import type { Logger } from '../logger.js';
import type { WorkerMetrics } from '../observability/metrics.js';
import { recordStageMetrics } from '../observability/stage-metrics.js';
import { alertRecords } from '../pipeline/alert-routing.js';
import { ConsumerStage } from '../pipeline/consumer-stage.js';
import { deadLetterMessage } from '../pipeline/dead-letter.js';
import { STAGE_EVENTS } from '../pipeline/instrumentation.js';
import { stageProducer } from '../pipeline/stage-producer.js';

export interface CampaignAggregatorDeps {
  kafka: Kafka;
  env: RuntimeEnv;
  cfg: DetectionConfig;
  store: CampaignStore;
  log: Logger;
  metrics?: WorkerMetrics;
}

export class CampaignAggregator {
  private readonly stage: ConsumerStage;
  private readonly producer: AckedProducer;
  private readonly engine: CampaignEngine;
  readonly stats = { batches: 0, observations: 0, alerts: 0, deadLetters: 0, retries: 0 };

  constructor(private readonly deps: CampaignAggregatorDeps) {
    const { kafka, env } = deps;
    this.producer = stageProducer(kafka, env, deps.log);
    this.stage = new ConsumerStage({
      name: 'campaign',
      kafka,
      groupId: `${env.KEYGUARD_GROUP_ID}-campaigns`,
      sessionTimeoutMs: env.KEYGUARD_SESSION_TIMEOUT_MS,
      maxWaitTimeInMs: 200,
      topics: [env.KEYGUARD_TOPIC_CAMPAIGN_OBSERVATIONS],
      partitionsConsumedConcurrently: 2,
      eachBatch: (payload) => this.process(payload),
      log: deps.log,
    });
    this.stage.instrumentation.on(STAGE_EVENTS.RETRY, () => this.stats.retries++);
    if (deps.metrics)
      recordStageMetrics(this.stage.instrumentation, deps.metrics, { retryLabelPrefix: 'campaign' });
    this.engine = new CampaignEngine(deps.cfg.campaign, deps.store);
  }

  async start(): Promise<void> {
    await this.producer.connect();
    await this.stage.start();
    this.deps.log.info(
      { topic: this.deps.env.KEYGUARD_TOPIC_CAMPAIGN_OBSERVATIONS },
      'campaign aggregator started',
    );
  }

  async stop(): Promise<void> {
    await this.stage.stop();
    await this.producer.disconnect();
  }

  private async process(payload: EachBatchPayload): Promise<void> {
    const { batch, heartbeat } = payload;
    if (batch.messages.length === 0) return;
    const startedAt = performance.now();
    const { env, log } = this.deps;
    const { topic, partition } = batch;
    const consumer = this.stage.consumer;
    const source = `${topic}/${partition}`;
    const items: SequencedObservation[] = [];
    const dead: Message[] = [];
    for (const m of batch.messages) {
      const r = decodeRecord(m.value, observationSchema, ErrorCodes.OBSERVATION_INVALID);
      if (r.ok) items.push({ seq: Number(m.offset), source, observation: r.value });
      else {
        const where = { topic, partition, offset: m.offset, timestamp: m.timestamp };
        dead.push(deadLetterMessage(r.code, r.reason, where, m.key, m.value));
      }
    }
    const retry = this.stage.batchRetry(payload, [partition], () =>
      consumer.pause([{ topic, partitions: [partition] }]),
    );
    try {
      const outcome = await retry('evaluate', () => this.engine.evaluate(items));
      const publication = this.producer.publication([
        ...alertRecords(outcome.alerts, {
          alerts: env.KEYGUARD_TOPIC_ALERTS,
          recommendations: env.KEYGUARD_TOPIC_RECOMMENDATIONS,
        }),
        { topic: env.KEYGUARD_TOPIC_DEAD_LETTER, messages: dead },
        // Revoked members as leak-cohort observations, keyed by label: the label's aggregator folds them.
        {
          topic: env.KEYGUARD_TOPIC_CAMPAIGN_OBSERVATIONS,
          messages: outcome.keyAnomalies.map(observationRecord),
        },
      ]);
      await retry('publish', () => publication.attempt());
      await retry('save groups', () => this.engine.commit(outcome));
      const next = (BigInt(batch.lastOffset()) + 1n).toString();
      await retry('commit offsets', () => consumer.commitOffsets([{ topic, partition, offset: next }]));
      payload.resolveOffset(batch.lastOffset());
      consumer.resume([{ topic, partitions: [partition] }]);
      this.stage.instrumentation.emit(STAGE_EVENTS.PUBLISHED, {
        stage: 'campaign',
        alerts: outcome.alerts,
        deadLetters: dead,
      });
      this.stage.instrumentation.emit(STAGE_EVENTS.BATCH_DONE, {
        stage: 'campaign',
        partitions: [partition],
        records: batch.messages.length,
        ms: performance.now() - startedAt,
      });
      this.stats.batches++;
      this.stats.observations += items.length;
      this.stats.alerts += outcome.alerts.length;
      this.stats.deadLetters += dead.length;
      for (const a of outcome.alerts)
        log.info(
          {
            alertId: a.alertId,
            accountId: a.accountId,
            recommendation: a.recommendation,
            campaignId: a.campaignId,
            cohort: a.cohort,
          },
          'campaign alert',
        );
      await heartbeat();
    } catch (err) {
      // Nothing committed: the batch is fetched again (here after a rejoin, or by the new owner).
      this.stage.abandoned(err, [partition], () => consumer.resume([{ topic, partitions: [partition] }]));
    }
  }
}
