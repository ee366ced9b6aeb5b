/**
 * `keyguard worker`: the streaming pipeline. Account topics (orders, fills, apikeys) are shared by
 * the consumer group, partition N of each topic going to the same worker; the market topic is read
 * whole by every worker. Per batch (one topic-partition): decode → wait for the market to reach the
 * batch's event time → evaluate (one Redis read) → publish alerts, recommendations and dead letters
 * and wait for Kafka's acks → save baselines (one Redis write, idempotent per source position) →
 * commit the offsets. Any failure on the way pauses the partition and retries with backoff; nothing
 * is skipped, and a crash anywhere redoes the batch with the same alert ids.
 */
import type { Consumer, EachBatchPayload, Kafka, Message, Producer } from 'kafkajs';
import type { DetectionConfig } from '../config/detection.js';
import type { RuntimeEnv } from '../config/runtime.js';
import { DetectionEngine, type SequencedEvent } from '../detection/engine.js';
import { RECOMMENDATION_LEVEL } from '../detection/fusion.js';
import { ErrorCodes, KeyguardError } from '../errors.js';
import { decodeEvent, eventId } from '../events/decode.js';
import { isMarketEvent } from '../events/schema.js';
import type { Logger } from '../logger.js';
import { MarketState } from '../market/market-state.js';
import type { BaselineStore } from '../state/baseline-store.js';
import { CoPartitionedAssigner } from './copartitioned-assigner.js';
import { deadLetterMessage } from './dead-letter.js';
import { MarketFeed } from './market-feed.js';
import { RetryAbandoned, retryUntilDone } from './retry.js';

export interface WorkerDeps {
  kafka: Kafka;
  env: RuntimeEnv;
  cfg: DetectionConfig;
  store: BaselineStore;
  log: Logger;
}

export interface WorkerStats {
  batches: number;
  events: number;
  alerts: number;
  recommendations: number;
  deadLetters: number;
  retries: number;
  marketWaitTimeouts: number;
}

export class Worker {
  private readonly consumer: Consumer;
  private readonly producer: Producer;
  private readonly market: MarketState;
  private readonly feed: MarketFeed;
  private readonly engine: DetectionEngine;
  private running = false;
  readonly stats: WorkerStats = {
    batches: 0,
    events: 0,
    alerts: 0,
    recommendations: 0,
    deadLetters: 0,
    retries: 0,
    marketWaitTimeouts: 0,
  };

  constructor(private readonly deps: WorkerDeps) {
    const { kafka, env, cfg } = deps;
    this.producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    this.consumer = kafka.consumer({
      groupId: env.KEYGUARD_GROUP_ID,
      sessionTimeout: env.KEYGUARD_SESSION_TIMEOUT_MS,
      heartbeatInterval: Math.min(3000, Math.floor(env.KEYGUARD_SESSION_TIMEOUT_MS / 4)),
      partitionAssigners: [CoPartitionedAssigner],
      maxWaitTimeInMs: 200,
    });
    this.market = new MarketState(cfg);
    this.engine = new DetectionEngine(cfg, deps.store, this.market);
    this.feed = new MarketFeed(
      kafka,
      this.market,
      {
        topic: env.KEYGUARD_TOPIC_MARKET,
        groupId: env.KEYGUARD_GROUP_ID,
        lookbackMs: env.KEYGUARD_MARKET_LOOKBACK_MS,
        sessionTimeoutMs: env.KEYGUARD_SESSION_TIMEOUT_MS,
      },
      (messages) => this.publishOnce([{ topic: env.KEYGUARD_TOPIC_DEAD_LETTER, messages }]),
      deps.log.child({ module: 'market-feed' }),
    );
  }

  private get accountTopics(): string[] {
    const e = this.deps.env;
    return [...new Set([e.KEYGUARD_TOPIC_ORDERS, e.KEYGUARD_TOPIC_FILLS, e.KEYGUARD_TOPIC_APIKEYS])];
  }

  /** Creates missing topics and checks that the account topics are co-partitioned. */
  async ensureTopics(): Promise<void> {
    const e = this.deps.env;
    const admin = this.deps.kafka.admin();
    await admin.connect();
    try {
      const inputs = [...this.accountTopics, e.KEYGUARD_TOPIC_MARKET];
      const outputs = [
        e.KEYGUARD_TOPIC_ALERTS,
        e.KEYGUARD_TOPIC_RECOMMENDATIONS,
        e.KEYGUARD_TOPIC_DEAD_LETTER,
      ];
      const existing = new Set(await admin.listTopics());
      const missing = [...new Set([...inputs, ...outputs])].filter((t) => !existing.has(t));
      if (missing.length > 0) {
        await admin.createTopics({
          waitForLeaders: true,
          topics: missing.map((topic) => ({ topic, numPartitions: e.KEYGUARD_INPUT_PARTITIONS })),
        });
      }
      const meta = await admin.fetchTopicMetadata({ topics: this.accountTopics });
      const counts = new Map(meta.topics.map((t) => [t.name, t.partitions.length]));
      if (new Set(counts.values()).size > 1) {
        throw new KeyguardError(
          ErrorCodes.TOPIC_LAYOUT,
          `the account topics must have the same number of partitions (co-partitioned by account): ${[
            ...counts,
          ]
            .map(([t, n]) => `${t}=${n}`)
            .join(', ')}`,
        );
      }
    } finally {
      await admin.disconnect();
    }
  }

  async start(): Promise<void> {
    await this.ensureTopics();
    await this.producer.connect();
    await this.feed.start();
    await this.consumer.connect();
    for (const topic of this.accountTopics) await this.consumer.subscribe({ topic, fromBeginning: true });
    this.running = true;
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.handleBatch(payload),
    });
    this.deps.log.info({ topics: this.accountTopics }, 'worker started');
  }

  /** Finishes the batch in flight, commits it, and leaves the group. */
  async stop(): Promise<void> {
    this.running = false;
    await this.consumer.disconnect();
    await this.feed.stop();
    await this.producer.disconnect();
  }

  private async publishOnce(topicMessages: Array<{ topic: string; messages: Message[] }>): Promise<void> {
    const nonEmpty = topicMessages.filter((t) => t.messages.length > 0);
    if (nonEmpty.length > 0) await this.producer.sendBatch({ topicMessages: nonEmpty, acks: -1 });
  }

  private async handleBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, heartbeat, isRunning, isStale } = payload;
    const log = this.deps.log;
    const env = this.deps.env;
    if (batch.messages.length === 0) return;
    const source = `${batch.topic}/${batch.partition}`;
    const events: SequencedEvent[] = [];
    const dead: Message[] = [];
    let maxTime = Number.NEGATIVE_INFINITY;
    for (const m of batch.messages) {
      const where = {
        topic: batch.topic,
        partition: batch.partition,
        offset: m.offset,
        timestamp: m.timestamp,
      };
      const decoded = decodeEvent(m.value?.toString('utf8') ?? '');
      if (!decoded.ok) {
        dead.push(deadLetterMessage(decoded.code, decoded.reason, where, m.key, m.value));
      } else if (isMarketEvent(decoded.event)) {
        const reason = `a ${decoded.event.kind} event on account topic ${batch.topic} (market events go to ${env.KEYGUARD_TOPIC_MARKET})`;
        dead.push(deadLetterMessage(ErrorCodes.EVENT_WRONG_TOPIC, reason, where, m.key, m.value));
      } else {
        events.push({ seq: Number(m.offset), event: decoded.event });
        maxTime = Math.max(maxTime, decoded.event.timestamp);
      }
    }
    const byOffset = new Map(batch.messages.map((m) => [m.offset, m]));
    const retry = <T>(what: string, fn: () => Promise<T>) =>
      retryUntilDone(fn, {
        minDelayMs: 100,
        maxDelayMs: 5000,
        shouldContinue: () => this.running && isRunning() && !isStale(),
        onRetry: async (err, attempt, delayMs) => {
          this.stats.retries++;
          log.warn(
            { err: (err as Error).message, what, source, attempt, delayMs },
            'retrying after a failure',
          );
          if (attempt === 1) this.consumer.pause([{ topic: batch.topic, partitions: [batch.partition] }]);
          await heartbeat().catch(() => {});
        },
      });
    try {
      if (events.length > 0 && !(await this.feed.waitFor(maxTime, env.KEYGUARD_MARKET_WAIT_MS))) {
        this.stats.marketWaitTimeouts++;
      }
      const outcome = await retry('evaluate', () => this.engine.evaluate(events, source));
      for (const f of outcome.failures) {
        const m = byOffset.get(String(f.seq));
        const where = { topic: batch.topic, partition: batch.partition, offset: String(f.seq) };
        dead.push(deadLetterMessage(f.code, `${eventId(f.event)}: ${f.reason}`, where, m?.key, m?.value));
      }
      const alerts = outcome.alerts.map((a) => ({ key: a.accountId, value: JSON.stringify(a) }));
      const recommendations = outcome.alerts
        .filter((a) => RECOMMENDATION_LEVEL[a.recommendation] >= RECOMMENDATION_LEVEL.revoke_key)
        .map((a) => ({ key: a.accountId, value: JSON.stringify(a) }));
      await retry('publish', () =>
        this.publishOnce([
          { topic: env.KEYGUARD_TOPIC_ALERTS, messages: alerts },
          { topic: env.KEYGUARD_TOPIC_RECOMMENDATIONS, messages: recommendations },
          { topic: env.KEYGUARD_TOPIC_DEAD_LETTER, messages: dead },
        ]),
      );
      await retry('save baselines', () => this.engine.commit(outcome));
      const next = (BigInt(batch.lastOffset()) + 1n).toString();
      await retry('commit offsets', () =>
        this.consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: next }]),
      );
      payload.resolveOffset(batch.lastOffset());
      this.consumer.resume([{ topic: batch.topic, partitions: [batch.partition] }]);
      for (const a of outcome.alerts) {
        log.info(
          {
            alertId: a.alertId,
            accountId: a.accountId,
            recommendation: a.recommendation,
            severity: a.severity,
          },
          'alert',
        );
      }
      this.stats.batches++;
      this.stats.events += batch.messages.length;
      this.stats.alerts += alerts.length;
      this.stats.recommendations += recommendations.length;
      this.stats.deadLetters += dead.length;
      await heartbeat();
    } catch (err) {
      if (err instanceof RetryAbandoned) {
        this.consumer.resume([{ topic: batch.topic, partitions: [batch.partition] }]);
        // Shutting down or the partition moved: leave the offsets uncommitted; the batch is redone.
        log.info({ source, err: err.message }, 'batch abandoned, will be redelivered');
        return;
      }
      throw err;
    }
  }
}
