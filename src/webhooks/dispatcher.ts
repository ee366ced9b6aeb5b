/**
 * `keyguard webhooks`: delivers recommendations to the configured endpoints.
 *
 * One consumer group reads the recommendations topic and the retry topic. A recommendation is
 * decoded, passed through the revocation circuit breaker (one Redis round trip per batch), and
 * fanned out to the endpoints whose filter it matches; each delivery's first attempt starts at
 * once in its endpoint's lane. A failed attempt writes the delivery, with its attempt count and
 * next due time, to the retry topic; a retry record waits for its time and tries again. What is
 * given up, or meant for an endpoint that answered 410, goes to the webhook dead-letter topic.
 * A record's offset is committed once every delivery it started is settled (delivered, written
 * to the retry or dead-letter topic with the broker's ack, or dry-run): a crash anywhere redoes
 * the record, never loses it. Receivers deduplicate by `webhook-id`.
 */
import type { EachBatchPayload, Kafka, KafkaMessage, Message } from 'kafkajs';
import type { RuntimeEnv } from '../config/runtime.js';
import type { Alert } from '../events/schema.js';
import type { AckedProducer } from '../kafka/acked-producer.js';
import { createMissingTopics, topicLayout } from '../kafka/topics.js';
import type { Logger } from '../logger.js';
import type { WebhookMetrics } from '../observability/webhook-metrics.js';
import { alertMessage } from '../pipeline/alert-routing.js';
import { ConsumerStage } from '../pipeline/consumer-stage.js';
import { type DeadLetterSource, deadLetterMessage } from '../pipeline/dead-letter.js';
import { STAGE_EVENTS } from '../pipeline/instrumentation.js';
import { RetryAbandoned } from '../pipeline/retry.js';
import { stageProducer } from '../pipeline/stage-producer.js';
import type { RedisClient } from '../state/redis-connection.js';
import { BreakerAnnouncer } from './breaker-announcer.js';
import { type Delivery, webhookPayload } from './delivery.js';
import { DispatchState } from './dispatch-state.js';
import { EndpointLane } from './endpoint-lane.js';
import { attemptDelivery, resultLabel } from './http-attempt.js';
import { decodeDelivery, decodeRecommendation, fanOut } from './intake.js';
import { beforeAttempt, type DeadLetterAction, nextAction } from './next-action.js';
import { type OffsetWatermark, PartitionWatermarks } from './offset-watermark.js';
import { RetryScheduler } from './retry-scheduler.js';
import type { Endpoint, WebhookConfig } from './webhook-config.js';

export interface DispatcherDeps {
  kafka: Kafka;
  redis: RedisClient;
  env: RuntimeEnv;
  cfg: WebhookConfig;
  metrics: WebhookMetrics;
  log: Logger;
}

/** How long stopping waits for attempts in flight before leaving them to the next owner. */
const STOP_GRACE_MS = 3000;
const COMMIT_INTERVAL_MS = 100;

export class WebhookDispatcher {
  private readonly stage: ConsumerStage;
  private readonly producer: AckedProducer;
  private readonly state: DispatchState;
  private readonly breaker: BreakerAnnouncer;
  private readonly scheduler: RetryScheduler;
  private readonly endpoints: Map<string, Endpoint>;
  private readonly lanes = new Map<string, EndpointLane>();
  private readonly watermarks = new PartitionWatermarks();
  private readonly paused = new Set<string>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly stopping = new AbortController();
  private disabled = new Map<string, string>();
  private running = false;
  private joined = false;
  private commitTimer?: NodeJS.Timeout;
  readonly stats = {
    delivered: 0,
    attempts: 0,
    retriesScheduled: 0,
    gaveUp: 0,
    dryRun: 0,
    deadLetters: 0,
    /** Consumer group (re)joins: one at start; more mean rebalances or lost sessions. */
    joins: 0,
  };

  constructor(private readonly deps: DispatcherDeps) {
    const { kafka, env, cfg, redis, metrics, log } = deps;
    this.stage = new ConsumerStage({
      name: 'webhooks',
      kafka,
      groupId: env.KEYGUARD_WEBHOOKS_GROUP_ID,
      sessionTimeoutMs: env.KEYGUARD_SESSION_TIMEOUT_MS,
      maxWaitTimeInMs: 50,
      topics: [env.KEYGUARD_TOPIC_RECOMMENDATIONS, env.KEYGUARD_TOPIC_WEBHOOK_RETRY],
      partitionsConsumedConcurrently: 4,
      eachBatch: (payload) => this.onBatch(payload),
      log,
    });
    this.stage.instrumentation.on(STAGE_EVENTS.RETRY, ({ step }) => metrics.retries.inc({ stage: step }));
    this.producer = stageProducer(kafka, env, log);
    this.state = new DispatchState(
      redis,
      env.KEYGUARD_REDIS_PREFIX,
      cfg.breaker,
      (operation, seconds, ok) => {
        metrics.redisRoundTrip.observe({ operation }, seconds);
        if (!ok) metrics.redisErrors.inc({ operation });
      },
    );
    this.breaker = new BreakerAnnouncer({
      cfg: cfg.breaker,
      metrics,
      log,
      publishAlert: (alert) => this.publish(env.KEYGUARD_TOPIC_ALERTS, [alertMessage(alert, 'platform')]),
      markAnnounced: (trippedAt) => this.retry('breaker', () => this.state.markAnnounced(trippedAt)),
    });
    this.scheduler = new RetryScheduler(metrics);
    this.endpoints = new Map(cfg.endpoints.map((e) => [e.id, e]));
    for (const e of cfg.endpoints) this.lanes.set(e.id, new EndpointLane(e.maxConcurrency, e.maxQueued));
  }

  private get consumer() {
    return this.stage.consumer;
  }

  async ensureTopics(): Promise<void> {
    const e = this.deps.env;
    await createMissingTopics(
      this.deps.kafka,
      [
        e.KEYGUARD_TOPIC_RECOMMENDATIONS,
        e.KEYGUARD_TOPIC_ALERTS,
        e.KEYGUARD_TOPIC_WEBHOOK_RETRY,
        e.KEYGUARD_TOPIC_WEBHOOK_DEAD_LETTER,
      ],
      topicLayout(e),
    );
  }

  async start(): Promise<void> {
    const { log, cfg } = this.deps;
    this.running = true;
    await this.ensureTopics();
    await this.producer.connect();
    this.consumer.on(this.consumer.events.GROUP_JOIN, ({ payload }) => {
      this.joined = true;
      this.stats.joins++;
      // After a (re)join the consumer fetches again from the committed offsets: start over from
      // there. Records still in hand are fetched again (an attempt already in flight may then be
      // made twice: same webhook-id), and none is left tracked-but-unprocessed. Retry records
      // waiting for their time are read again and rescheduled.
      this.watermarks.clear();
      this.scheduler.clear();
      for (const key of this.paused) {
        const slash = key.lastIndexOf('/');
        this.consumer.resume([{ topic: key.slice(0, slash), partitions: [Number(key.slice(slash + 1))] }]);
      }
      this.paused.clear();
      log.info({ assignment: payload.memberAssignment }, 'partitions assigned');
    });
    await this.stage.start();
    this.commitTimer = setInterval(() => void this.commitDue(), COMMIT_INTERVAL_MS);
    log.info(
      {
        endpoints: cfg.endpoints.map((e) => ({
          id: e.id,
          url: e.url,
          dryRun: e.dryRun,
          secrets: e.secrets.length,
        })),
        breaker: cfg.breaker,
      },
      'webhook dispatcher started',
    );
  }

  async readiness(): Promise<{ ready: boolean; detail: Record<string, unknown> }> {
    const redis = this.deps.redis.status;
    const ready = this.running && this.joined && redis === 'ready';
    return { ready, detail: { running: this.running, joined: this.joined, redis } };
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.scheduler.clear();
    const { env } = this.deps;
    this.consumer.pause([
      { topic: env.KEYGUARD_TOPIC_RECOMMENDATIONS },
      { topic: env.KEYGUARD_TOPIC_WEBHOOK_RETRY },
    ]);
    // Attempts in flight finish (their Kafka steps give up once stopping); then what is settled is committed.
    await Promise.race([
      Promise.allSettled([...this.inFlight]),
      new Promise((r) => setTimeout(r, STOP_GRACE_MS).unref()),
    ]);
    // Past the grace period, attempts still open are abandoned: their records are redone after the restart.
    this.stopping.abort();
    await Promise.allSettled([...this.inFlight]);
    clearInterval(this.commitTimer);
    await this.commitDue().catch(() => undefined);
    await this.stage.stop();
    await this.producer.disconnect();
  }

  /** `keyguard webhooks --enable <id>`. */
  enableEndpoint(endpointId: string): Promise<boolean> {
    return this.state.enable(endpointId);
  }

  private async onBatch({ batch, resolveOffset, heartbeat, isStale }: EachBatchPayload): Promise<void> {
    if (!this.running || isStale()) return;
    const { topic, partition } = batch;
    const wm = this.watermarks.of(topic, partition);
    const fresh = batch.messages.filter((m) => wm.track(m.offset));
    // Fetching moves on; the offsets are committed by the watermark once the work is settled.
    for (const m of batch.messages) resolveOffset(m.offset);
    const finish = (m: KafkaMessage) => {
      wm.finish(m.offset);
      this.maybeResume(topic, partition, wm);
    };
    try {
      if (topic === this.deps.env.KEYGUARD_TOPIC_RECOMMENDATIONS)
        await this.ingest(topic, partition, fresh, finish, heartbeat);
      else this.scheduleRetries(topic, partition, fresh, finish);
    } catch (err) {
      if (err instanceof RetryAbandoned) return; // stopping: nothing settled is lost, the rest is redone
      throw err;
    }
    if (wm.size > this.deps.cfg.maxPendingPerPartition && !this.paused.has(`${topic}/${partition}`)) {
      this.paused.add(`${topic}/${partition}`);
      this.consumer.pause([{ topic, partitions: [partition] }]);
      this.deps.log.warn(
        { topic, partition, pending: wm.size },
        'too many pending deliveries: partition paused',
      );
    }
    await heartbeat();
  }

  private maybeResume(topic: string, partition: number, wm: OffsetWatermark): void {
    const key = `${topic}/${partition}`;
    if (this.paused.has(key) && wm.size <= this.deps.cfg.maxPendingPerPartition / 2) {
      this.paused.delete(key);
      if (this.running) this.consumer.resume([{ topic, partitions: [partition] }]);
    }
  }

  /**
   * Retries until done while running. Inside a batch handler, `heartbeat` keeps the partitions
   * through a long outage (Redis or Kafka down for longer than the session timeout).
   */
  private retry<T>(stage: string, fn: () => Promise<T>, heartbeat?: () => Promise<void>): Promise<T> {
    return this.stage.retry(stage, fn, heartbeat, () => this.running);
  }

  private async publish(
    topic: string,
    messages: Message[],
    stage = 'publish',
    heartbeat?: () => Promise<void>,
  ): Promise<void> {
    if (messages.length === 0) return;
    await this.retry(stage, () => this.producer.publish([{ topic, messages }]), heartbeat);
  }

  /** First sight of recommendations: decode, breaker, fan out. Returns once the deliveries are started. */
  private async ingest(
    topic: string,
    partition: number,
    messages: KafkaMessage[],
    finish: (m: KafkaMessage) => void,
    heartbeat: () => Promise<void>,
  ): Promise<void> {
    const { env, metrics, log } = this.deps;
    const valid: Array<{ m: KafkaMessage; rec: Alert }> = [];
    const dead: Message[] = [];
    for (const m of messages) {
      const decoded = decodeRecommendation(m.value);
      if (decoded.ok) {
        valid.push({ m, rec: decoded.value });
        metrics.recommendationsConsumed.inc({ result: 'valid' });
      } else {
        metrics.recommendationsConsumed.inc({ result: 'invalid' });
        metrics.deadLetters.inc({ reason: 'invalid_record' });
        const source = { topic, partition, offset: m.offset };
        dead.push(deadLetterMessage(decoded.code, decoded.reason, source, m.key, m.value));
      }
    }
    if (dead.length > 0) {
      await this.publish(env.KEYGUARD_TOPIC_WEBHOOK_DEAD_LETTER, dead, 'publish', heartbeat);
      this.stats.deadLetters += dead.length;
      log.warn({ topic, partition, count: dead.length }, 'invalid recommendation records dead-lettered');
    }
    for (const m of messages) if (!valid.some((v) => v.m === m)) finish(m);
    if (valid.length === 0) return;

    const state = await this.retry('breaker', () => this.state.observe(valid.map((v) => v.rec)), heartbeat);
    await this.breaker.announce(state, Math.max(...valid.map((v) => v.rec.timestamp)));
    this.disabled = state.disabled;
    for (const e of this.endpoints.keys())
      metrics.endpointDisabled.set({ endpoint: e }, this.disabled.has(e) ? 1 : 0);

    const now = Date.now();
    for (const { m, rec } of valid) {
      const note = state.downgrades.get(rec.alertId);
      if (note) {
        metrics.downgraded.inc({ recommendation: rec.recommendation });
        log.warn(
          { alertId: rec.alertId, recommendation: rec.recommendation },
          'breaker open: sent as review',
        );
      }
      const out = fanOut(rec, note, this.endpoints.values(), now, Number(m.timestamp));
      for (const endpoint of out.filteredByBreaker)
        metrics.deliveries.inc({ endpoint, outcome: 'filtered_by_breaker' });
      const source = { topic, partition, offset: m.offset };
      Promise.all(out.deliveries.map((d) => this.track(this.settle(d, source)))).then(
        () => finish(m),
        () => undefined, // abandoned (stopping): left unfinished, redone after the restart
      );
    }
  }

  private scheduleRetries(
    topic: string,
    partition: number,
    messages: KafkaMessage[],
    finish: (m: KafkaMessage) => void,
  ): void {
    for (const m of messages) {
      const source = { topic, partition, offset: m.offset };
      const decoded = decodeDelivery(m.value);
      if (!decoded.ok) {
        this.deps.metrics.deadLetters.inc({ reason: 'invalid_record' });
        const dl = deadLetterMessage(decoded.code, decoded.reason, source, m.key, m.value);
        this.track(this.publish(this.deps.env.KEYGUARD_TOPIC_WEBHOOK_DEAD_LETTER, [dl])).then(
          () => finish(m),
          () => undefined,
        );
        continue;
      }
      this.scheduler.schedule(decoded.value, () =>
        this.track(this.settle(decoded.value, source)).then(
          () => finish(m),
          () => undefined,
        ),
      );
    }
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    const done = () => this.inFlight.delete(p);
    p.then(done, done);
    return p;
  }

  /** Settles one delivery: delivered, parked on the retry topic, dead-lettered, or dry-run. */
  private async settle(d: Delivery, source: DeadLetterSource): Promise<void> {
    const { metrics, log, cfg } = this.deps;
    const labels = { endpoint: d.endpointId };
    const lane = this.lanes.get(d.endpointId);
    const before = beforeAttempt(
      d,
      {
        endpoint: this.endpoints.get(d.endpointId),
        disabledWhy: this.disabled.get(d.endpointId),
        laneFull: lane?.full ?? false,
      },
      cfg,
      Date.now(),
    );
    switch (before.kind) {
      case 'dead_letter':
        if (before.reason === 'endpoint_disabled')
          metrics.deliveries.inc({ ...labels, outcome: 'endpoint_disabled' });
        await this.deadLetter(before, source);
        return;
      case 'dry_run':
        metrics.deliveries.inc({ ...labels, outcome: 'dry_run' });
        this.stats.dryRun++;
        log.info(
          {
            webhookId: d.webhookId,
            endpoint: d.endpointId,
            recommendation: d.recommendation.recommendation,
            accountId: d.recommendation.accountId,
          },
          'dry run: would deliver',
        );
        return;
      case 'park':
        // This endpoint is backed up: park the delivery rather than hold up the others.
        await this.scheduleRetry(before.delivery, before.why);
        return;
      case 'attempt':
        break;
    }
    metrics.pending.inc();
    const body = JSON.stringify(webhookPayload(d));
    const result = await lane!
      .run(() => attemptDelivery(before.endpoint, d.webhookId, body, this.stopping.signal))
      .finally(() => metrics.pending.dec());
    this.stats.attempts++;
    metrics.attempts.inc({ ...labels, result: resultLabel(result) });
    metrics.attemptDuration.observe(labels, result.ms / 1000);
    const context = { webhookId: d.webhookId, endpoint: d.endpointId, attempt: d.attempts + 1 };
    const next = nextAction(result, d, cfg, Date.now());
    switch (next.kind) {
      case 'delivered':
        metrics.deliveries.inc({ ...labels, outcome: 'delivered' });
        if (d.publishedAt)
          metrics.publishToDelivered.observe(labels, Math.max(0, Date.now() - d.publishedAt) / 1000);
        this.stats.delivered++;
        log.info({ ...context, status: result.status, ms: result.ms }, 'webhook delivered');
        return;
      case 'disable':
        await this.retry('breaker', () => this.state.disable(d.endpointId, next.why));
        this.disabled.set(d.endpointId, next.why);
        metrics.endpointDisabled.set(labels, 1);
        metrics.deliveries.inc({ ...labels, outcome: 'endpoint_disabled' });
        log.error(
          { ...context },
          'endpoint answered 410 Gone: disabled (keyguard webhooks --enable <id> after fixing it)',
        );
        await this.deadLetter(next.deadLetter, source);
        return;
      case 'dead_letter':
        metrics.deliveries.inc({ ...labels, outcome: 'gave_up' });
        this.stats.gaveUp++;
        log.error({ ...context, err: next.error, why: next.why }, 'webhook delivery given up');
        await this.deadLetter(next, source);
        return;
      case 'retry':
        log.warn(
          { ...context, err: next.error, retryInMs: next.delayMs },
          'webhook attempt failed, will retry',
        );
        await this.scheduleRetry(next.delivery, next.error);
        return;
    }
  }

  private async scheduleRetry(d: Delivery, why: string): Promise<void> {
    await this.publish(
      this.deps.env.KEYGUARD_TOPIC_WEBHOOK_RETRY,
      [
        {
          key: d.webhookId,
          value: JSON.stringify(d),
          headers: { 'keyguard-endpoint': d.endpointId, 'keyguard-why': why },
        },
      ],
      'schedule retry',
    );
    this.deps.metrics.retriesScheduled.inc({ endpoint: d.endpointId });
    this.stats.retriesScheduled++;
  }

  private async deadLetter(action: DeadLetterAction, source: DeadLetterSource): Promise<void> {
    const d = action.delivery;
    const dl = deadLetterMessage(
      action.code,
      action.detail,
      source,
      Buffer.from(d.webhookId),
      Buffer.from(JSON.stringify(d)),
    );
    await this.publish(this.deps.env.KEYGUARD_TOPIC_WEBHOOK_DEAD_LETTER, [dl]);
    this.deps.metrics.deadLetters.inc({ reason: action.reason });
    this.stats.deadLetters++;
  }

  private async commitDue(): Promise<void> {
    if (!this.joined) return;
    // A rebalance in progress, a broker restart: the next tick tries again.
    const failed = await this.watermarks.commit((offsets) => this.consumer.commitOffsets(offsets));
    if (failed) {
      this.deps.metrics.retries.inc({ stage: 'commit offsets' });
      this.deps.log.debug({ err: failed.message }, 'commit failed, will retry');
    }
  }
}
