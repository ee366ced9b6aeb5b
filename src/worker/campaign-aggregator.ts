/**
 * The campaign aggregator's consumer: its own consumer group on the observations topic, run by
 * every worker process, so the topic's partitions — and with them the symbols and key labels, which
 * are the records' keys — are shared out among the workers. Per fetched batch: decode (a bad record
 * goes to the dead-letter topic with its reason) → load the groups (one Redis round trip) → fold →
 * publish alerts and recommendations and wait for the acks → save the groups (one round trip,
 * refused if stale) → commit the offsets. A failure pauses the partition and retries; a crash
 * anywhere redoes the batch with the same alert ids.
 */
import type { Consumer, EachBatchPayload, Kafka, Message } from 'kafkajs';
import { CampaignEngine, type SequencedObservation } from '../campaign/campaign-engine.js';
import type { CampaignStore } from '../campaign/campaign-store.js';
import type { DetectionConfig } from '../config/detection.js';
import type { RuntimeEnv } from '../config/runtime.js';
import { ErrorCodes } from '../errors.js';
import { describeIssues } from '../events/decode.js';
import { observationSchema } from '../events/observation.js';
import { type Alert, RECOMMENDATION_LEVEL } from '../events/schema.js';
import { AckedProducer } from '../kafka/acked-producer.js';
import { groupLiveness } from '../kafka/connection.js';
import type { Logger } from '../logger.js';
import type { WorkerMetrics } from '../observability/metrics.js';
import { restartAfterFatalCrash } from '../pipeline/consumer-recovery.js';
import { deadLetterMessage } from '../pipeline/dead-letter.js';
import { groupMembershipError, RetryAbandoned, rejoinError, retryUntilDone } from '../pipeline/retry.js';

export interface CampaignAggregatorDeps {
  kafka: Kafka;
  env: RuntimeEnv;
  cfg: DetectionConfig;
  store: CampaignStore;
  log: Logger;
  metrics?: WorkerMetrics;
}

export class CampaignAggregator {
  private readonly consumer: Consumer;
  private readonly producer: AckedProducer;
  private readonly engine: CampaignEngine;
  private running = false;
  readonly stats = { batches: 0, observations: 0, alerts: 0, deadLetters: 0, retries: 0 };

  constructor(private readonly deps: CampaignAggregatorDeps) {
    const { kafka, env } = deps;
    this.producer = new AckedProducer(
      kafka,
      env.KEYGUARD_PRODUCER_MAX_BATCH_BYTES,
      deps.log.child({ module: 'producer' }),
    );
    this.consumer = kafka.consumer({
      groupId: `${env.KEYGUARD_GROUP_ID}-campaigns`,
      ...groupLiveness(env.KEYGUARD_SESSION_TIMEOUT_MS),
      maxWaitTimeInMs: 200,
    });
    this.engine = new CampaignEngine(deps.cfg.campaign, deps.store);
  }

  async start(): Promise<void> {
    await this.producer.connect();
    this.running = true;
    restartAfterFatalCrash(
      this.consumer,
      () => this.runConsumer(),
      () => this.running,
      this.deps.log,
    );
    await this.runConsumer();
    this.deps.log.info(
      { topic: this.deps.env.KEYGUARD_TOPIC_CAMPAIGN_OBSERVATIONS },
      'campaign aggregator started',
    );
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.consumer.disconnect();
    await this.producer.disconnect();
  }

  private async runConsumer(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({
      topic: this.deps.env.KEYGUARD_TOPIC_CAMPAIGN_OBSERVATIONS,
      fromBeginning: true,
    });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 2,
      eachBatch: (payload) => this.process(payload),
    });
  }

  private async process(payload: EachBatchPayload): Promise<void> {
    const { batch, heartbeat, isRunning, isStale } = payload;
    if (batch.messages.length === 0) return;
    const env = this.deps.env;
    const log = this.deps.log;
    const source = `${batch.topic}/${batch.partition}`;
    const items: SequencedObservation[] = [];
    const dead: Message[] = [];
    for (const m of batch.messages) {
      const where = {
        topic: batch.topic,
        partition: batch.partition,
        offset: m.offset,
        timestamp: m.timestamp,
      };
      let parsed: unknown;
      try {
        parsed = JSON.parse(m.value?.toString('utf8') ?? '');
      } catch (err) {
        dead.push(
          deadLetterMessage(
            ErrorCodes.OBSERVATION_INVALID,
            `not JSON: ${(err as Error).message}`,
            where,
            m.key,
            m.value,
          ),
        );
        continue;
      }
      const r = observationSchema.safeParse(parsed);
      if (r.success) items.push({ seq: Number(m.offset), source, observation: r.data });
      else
        dead.push(
          deadLetterMessage(
            ErrorCodes.OBSERVATION_INVALID,
            describeIssues(r.error, 5),
            where,
            m.key,
            m.value,
          ),
        );
    }
    const retry = <T>(what: string, fn: () => Promise<T>) =>
      retryUntilDone(fn, {
        minDelayMs: 100,
        maxDelayMs: 5000,
        shouldContinue: () => this.running && isRunning() && !isStale(),
        giveUpOn: (err) => groupMembershipError(err) !== undefined,
        onRetry: async (err, attempt, delayMs) => {
          this.stats.retries++;
          this.deps.metrics?.retries.inc({ stage: `campaign ${what}` });
          log.warn(
            { err: (err as Error).message, what, partition: batch.partition, attempt, delayMs },
            'retrying after a failure',
          );
          if (attempt === 1) this.consumer.pause([{ topic: batch.topic, partitions: [batch.partition] }]);
          await heartbeat().catch(() => {});
        },
      });
    try {
      const outcome = await retry('evaluate', () => this.engine.evaluate(items));
      const alerts = outcome.alerts.map((a) => ({ key: a.accountId, value: JSON.stringify(a) }));
      const recommendations = outcome.alerts
        .filter((a) => RECOMMENDATION_LEVEL[a.recommendation] >= RECOMMENDATION_LEVEL.revoke_key)
        .map((a) => ({ key: a.accountId, value: JSON.stringify(a) }));
      const publication = this.producer.publication([
        { topic: env.KEYGUARD_TOPIC_ALERTS, messages: alerts },
        { topic: env.KEYGUARD_TOPIC_RECOMMENDATIONS, messages: recommendations },
        { topic: env.KEYGUARD_TOPIC_DEAD_LETTER, messages: dead },
      ]);
      await retry('publish', () => publication.attempt());
      await retry('save groups', () => this.engine.commit(outcome));
      const next = (BigInt(batch.lastOffset()) + 1n).toString();
      await retry('commit offsets', () =>
        this.consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: next }]),
      );
      payload.resolveOffset(batch.lastOffset());
      this.consumer.resume([{ topic: batch.topic, partitions: [batch.partition] }]);
      this.observe(outcome.alerts, dead);
      this.stats.batches++;
      this.stats.observations += items.length;
      this.stats.alerts += alerts.length;
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
      if (!(err instanceof RetryAbandoned)) throw err;
      // Nothing committed: the batch is fetched again (here after a rejoin, or by the new owner).
      this.consumer.resume([{ topic: batch.topic, partitions: [batch.partition] }]);
      log.info(
        { partition: batch.partition, err: err.message },
        'campaign batch abandoned, will be redelivered',
      );
      const membership = groupMembershipError(err.lastError);
      if (membership) throw rejoinError(membership, err.lastError);
    }
  }

  private observe(alerts: readonly Alert[], dead: readonly Message[]): void {
    const metrics = this.deps.metrics;
    if (!metrics) return;
    metrics.campaignBatches.inc();
    for (const a of alerts) {
      metrics.alerts.inc({ severity: a.severity, recommendation: a.recommendation });
      if (a.symbol) metrics.alertsBySymbol.inc({ symbol: a.symbol });
      for (const s of a.signals) metrics.signals.inc({ detector: s.detector });
    }
    for (const d of dead)
      metrics.deadLetters.inc({ code: String(d.headers?.['keyguard-error-code'] ?? 'unknown') });
  }
}
