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
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage, Message, Producer } from 'kafkajs';
import type { RuntimeEnv } from '../config/runtime.js';
import { ErrorCodes } from '../errors.js';
import { describeIssues } from '../events/decode.js';
import { type Alert, alertSchema, severitySchema } from '../events/schema.js';
import { groupLiveness } from '../kafka/connection.js';
import { createMissingTopics } from '../kafka/topics.js';
import type { Logger } from '../logger.js';
import type { WebhookMetrics } from '../observability/webhook-metrics.js';
import { restartAfterFatalCrash } from '../pipeline/consumer-recovery.js';
import { type DeadLetterSource, deadLetterMessage } from '../pipeline/dead-letter.js';
import { RetryAbandoned, retryUntilDone } from '../pipeline/retry.js';
import type { ScriptCommands } from '../state/commands/index.js';
import { applyBreaker, type Delivery, deliverySchema, webhookPayload } from './delivery.js';
import { type BatchState, type BreakerTrip, DispatchState } from './dispatch-state.js';
import { EndpointLane } from './endpoint-lane.js';
import { attemptDelivery, resultLabel } from './http-attempt.js';
import { OffsetWatermark } from './offset-watermark.js';
import { nextStep } from './retry-schedule.js';
import type { Endpoint, WebhookConfig } from './webhook-config.js';

export interface DispatcherDeps {
  kafka: Kafka;
  redis: Redis & ScriptCommands;
  env: RuntimeEnv;
  cfg: WebhookConfig;
  metrics: WebhookMetrics;
  log: Logger;
}

const SEVERITY_RANK = Object.fromEntries(severitySchema.options.map((s, i) => [s, i])) as Record<
  string,
  number
>;

/** How long stopping waits for attempts in flight before leaving them to the next owner. */
const STOP_GRACE_MS = 3000;
const COMMIT_INTERVAL_MS = 100;

export function endpointWants(endpoint: Endpoint, rec: Alert): boolean {
  const f = endpoint.filter;
  if (f.exchanges && !f.exchanges.includes(rec.exchange)) return false;
  if (!f.recommendations.includes(rec.recommendation)) return false;
  return (SEVERITY_RANK[rec.severity] ?? 0) >= (SEVERITY_RANK[f.minSeverity] ?? 0);
}

/** The platform-level alert announcing a breaker trip; its id is stable, so every dispatcher publishes the same one. */
export function breakerAlert(trip: BreakerTrip, cfg: WebhookConfig['breaker']): Alert {
  const alertId = createHash('sha256')
    .update(`revocation_breaker\n${trip.trippedAt}`)
    .digest('hex')
    .slice(0, 32);
  return {
    alertId,
    exchange: '*',
    accountId: '*',
    timestamp: trip.trippedAt,
    severity: 'critical',
    score: 1,
    recommendation: 'review',
    scope: 'platform',
    signals: [
      {
        detector: 'revocation_breaker',
        score: 1,
        evidence: {
          summary: `${trip.actionsInWindow} automatic-action recommendations (${cfg.recommendations.join(', ')}) within ${cfg.windowMs / 1000} s, more than the ${cfg.maxActions} allowed: a bad rule or a market-wide event. Webhooks send them as reviews until ${new Date(trip.openUntil).toISOString()} (event time); check the alerts before acting.`,
          actionsInWindow: trip.actionsInWindow,
          maxActions: cfg.maxActions,
          windowSeconds: cfg.windowMs / 1000,
          openUntil: new Date(trip.openUntil).toISOString(),
        },
      },
    ],
    eventIds: [],
  };
}

export class WebhookDispatcher {
  private readonly consumer: Consumer;
  private readonly producer: Producer;
  private readonly state: DispatchState;
  private readonly endpoints: Map<string, Endpoint>;
  private readonly lanes = new Map<string, EndpointLane>();
  private readonly watermarks = new Map<string, OffsetWatermark>();
  private readonly paused = new Set<string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly stopping = new AbortController();
  /** Trips this process is announcing or has announced (partitions are processed concurrently). */
  private readonly announcing = new Set<number>();
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
    const { kafka, env, cfg, redis, metrics } = deps;
    this.consumer = kafka.consumer({
      groupId: env.KEYGUARD_WEBHOOKS_GROUP_ID,
      ...groupLiveness(env.KEYGUARD_SESSION_TIMEOUT_MS),
      maxWaitTimeInMs: 50,
    });
    this.producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    this.state = new DispatchState(
      redis,
      env.KEYGUARD_REDIS_PREFIX,
      cfg.breaker,
      (operation, seconds, ok) => {
        metrics.redisRoundTrip.observe({ operation }, seconds);
        if (!ok) metrics.redisErrors.inc({ operation });
      },
    );
    this.endpoints = new Map(cfg.endpoints.map((e) => [e.id, e]));
    for (const e of cfg.endpoints) this.lanes.set(e.id, new EndpointLane(e.maxConcurrency, e.maxQueued));
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
      e.KEYGUARD_INPUT_PARTITIONS,
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
      this.deps.metrics.pending.dec(this.timers.size);
      for (const t of this.timers) clearTimeout(t);
      this.timers.clear();
      for (const key of this.paused) {
        const slash = key.lastIndexOf('/');
        this.consumer.resume([{ topic: key.slice(0, slash), partitions: [Number(key.slice(slash + 1))] }]);
      }
      this.paused.clear();
      log.info({ assignment: payload.memberAssignment }, 'partitions assigned');
    });
    restartAfterFatalCrash(
      this.consumer,
      () => this.runConsumer(),
      () => this.running,
      log,
    );
    await this.runConsumer();
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

  private async runConsumer(): Promise<void> {
    const { env } = this.deps;
    await this.consumer.connect();
    await this.consumer.subscribe({
      topics: [env.KEYGUARD_TOPIC_RECOMMENDATIONS, env.KEYGUARD_TOPIC_WEBHOOK_RETRY],
      fromBeginning: true,
    });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 4,
      eachBatch: (payload) => this.onBatch(payload),
    });
  }

  async readiness(): Promise<{ ready: boolean; detail: Record<string, unknown> }> {
    const redis = this.deps.redis.status;
    const ready = this.running && this.joined && redis === 'ready';
    return { ready, detail: { running: this.running, joined: this.joined, redis } };
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
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
    await this.consumer.disconnect();
    await this.producer.disconnect();
  }

  /** `keyguard webhooks --enable <id>`. */
  enableEndpoint(endpointId: string): Promise<boolean> {
    return this.state.enable(endpointId);
  }

  private watermark(topic: string, partition: number): OffsetWatermark {
    const key = `${topic}/${partition}`;
    let wm = this.watermarks.get(key);
    if (!wm) {
      wm = new OffsetWatermark();
      this.watermarks.set(key, wm);
    }
    return wm;
  }

  private async onBatch({ batch, resolveOffset, heartbeat, isStale }: EachBatchPayload): Promise<void> {
    if (!this.running || isStale()) return;
    const { topic, partition } = batch;
    const wm = this.watermark(topic, partition);
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
    return retryUntilDone(fn, {
      minDelayMs: 100,
      maxDelayMs: 5000,
      shouldContinue: () => this.running,
      onRetry: async (err, attempt, delayMs) => {
        this.deps.metrics.retries.inc({ stage });
        this.deps.log.warn({ stage, attempt, delayMs, err: (err as Error).message }, 'retrying');
        await heartbeat?.().catch(() => undefined);
      },
    });
  }

  private async publish(
    topic: string,
    messages: Message[],
    stage = 'publish',
    heartbeat?: () => Promise<void>,
  ): Promise<void> {
    if (messages.length === 0) return;
    await this.retry(stage, () => this.producer.send({ topic, messages, acks: -1 }), heartbeat);
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
        valid.push({ m, rec: decoded.rec });
        metrics.recommendationsConsumed.inc({ result: 'valid' });
      } else {
        metrics.recommendationsConsumed.inc({ result: 'invalid' });
        metrics.deadLetters.inc({ reason: 'invalid_record' });
        dead.push(
          deadLetterMessage(
            ErrorCodes.RECOMMENDATION_INVALID,
            decoded.reason,
            { topic, partition, offset: m.offset },
            m.key,
            m.value,
          ),
        );
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
    await this.announceTrip(state, valid, heartbeat);
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
      const final = applyBreaker(rec, note);
      const settled: Array<Promise<void>> = [];
      for (const endpoint of this.endpoints.values()) {
        if (!endpointWants(endpoint, final)) {
          if (note && endpointWants(endpoint, rec))
            metrics.deliveries.inc({ endpoint: endpoint.id, outcome: 'filtered_by_breaker' });
          continue;
        }
        const delivery: Delivery = {
          webhookId: rec.alertId,
          endpointId: endpoint.id,
          recommendation: final,
          attempts: 0,
          dueAt: now,
          firstSeenAt: now,
          publishedAt: Number(m.timestamp),
        };
        settled.push(this.track(this.settle(delivery, { topic, partition, offset: m.offset })));
      }
      Promise.all(settled).then(
        () => finish(m),
        () => undefined, // abandoned (stopping): left unfinished, redone after the restart
      );
    }
  }

  private async announceTrip(
    state: BatchState,
    valid: Array<{ m: KafkaMessage; rec: Alert }>,
    heartbeat: () => Promise<void>,
  ): Promise<void> {
    const { trip } = state;
    if (!trip) return;
    const newest = Math.max(...valid.map((v) => v.rec.timestamp));
    // The breaker runs on event time; the gauge maps it to the wall clock through the current lag.
    const m = this.deps.metrics;
    m.breakerOpenUntil = Math.max(m.breakerOpenUntil, trip.openUntil + (Date.now() - newest));
    if (trip.announced || this.announcing.has(trip.trippedAt)) return;
    this.announcing.add(trip.trippedAt);
    const alert = breakerAlert(trip, this.deps.cfg.breaker);
    await this.publish(
      this.deps.env.KEYGUARD_TOPIC_ALERTS,
      [{ key: 'platform', value: JSON.stringify(alert) }],
      'publish',
      heartbeat,
    );
    await this.retry('breaker', () => this.state.markAnnounced(trip.trippedAt), heartbeat);
    this.deps.metrics.breakerTrips.inc();
    this.deps.log.error(
      { alertId: alert.alertId, actionsInWindow: trip.actionsInWindow, openUntil: trip.openUntil },
      'revocation circuit breaker tripped: automatic actions are sent as reviews',
    );
  }

  private scheduleRetries(
    topic: string,
    partition: number,
    messages: KafkaMessage[],
    finish: (m: KafkaMessage) => void,
  ): void {
    const { metrics } = this.deps;
    for (const m of messages) {
      const source = { topic, partition, offset: m.offset };
      const decoded = decodeDelivery(m.value);
      if (!decoded.ok) {
        metrics.deadLetters.inc({ reason: 'invalid_record' });
        const dl = deadLetterMessage(
          ErrorCodes.RECOMMENDATION_INVALID,
          decoded.reason,
          source,
          m.key,
          m.value,
        );
        this.track(this.publish(this.deps.env.KEYGUARD_TOPIC_WEBHOOK_DEAD_LETTER, [dl])).then(
          () => finish(m),
          () => undefined,
        );
        continue;
      }
      const delivery = decoded.delivery;
      metrics.pending.inc();
      const timer = setTimeout(
        () => {
          this.timers.delete(timer);
          metrics.pending.dec();
          this.track(this.settle(delivery, source)).then(
            () => finish(m),
            () => undefined,
          );
        },
        Math.max(0, delivery.dueAt - Date.now()),
      );
      this.timers.add(timer);
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
    const endpoint = this.endpoints.get(d.endpointId);
    const labels = { endpoint: d.endpointId };
    if (!endpoint) {
      await this.deadLetter(
        d,
        source,
        ErrorCodes.WEBHOOK_GAVE_UP,
        'gave_up',
        `endpoint ${d.endpointId} is no longer configured`,
      );
      return;
    }
    if (endpoint.dryRun) {
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
    }
    const disabledWhy = this.disabled.get(d.endpointId);
    if (disabledWhy) {
      metrics.deliveries.inc({ ...labels, outcome: 'endpoint_disabled' });
      await this.deadLetter(
        d,
        source,
        ErrorCodes.WEBHOOK_ENDPOINT_DISABLED,
        'endpoint_disabled',
        `endpoint disabled: ${disabledWhy}`,
      );
      return;
    }
    const lane = this.lanes.get(d.endpointId)!;
    if (lane.full) {
      // This endpoint is backed up: park the delivery rather than hold up the others.
      await this.scheduleRetry({ ...d, dueAt: Date.now() + cfg.retry.initialDelayMs }, 'endpoint busy');
      return;
    }
    metrics.pending.inc();
    const body = JSON.stringify(webhookPayload(d));
    const result = await lane
      .run(() => attemptDelivery(endpoint, d.webhookId, body, this.stopping.signal))
      .finally(() => metrics.pending.dec());
    const attempts = d.attempts + 1;
    this.stats.attempts++;
    metrics.attempts.inc({ ...labels, result: resultLabel(result) });
    metrics.attemptDuration.observe(labels, result.ms / 1000);
    const context = { webhookId: d.webhookId, endpoint: d.endpointId, attempt: attempts };
    if (result.outcome === 'delivered') {
      metrics.deliveries.inc({ ...labels, outcome: 'delivered' });
      if (d.publishedAt)
        metrics.publishToDelivered.observe(labels, Math.max(0, Date.now() - d.publishedAt) / 1000);
      this.stats.delivered++;
      log.info({ ...context, status: result.status, ms: result.ms }, 'webhook delivered');
      return;
    }
    if (result.outcome === 'gone') {
      const why = `410 Gone at ${new Date().toISOString()}`;
      await this.retry('breaker', () => this.state.disable(d.endpointId, why));
      this.disabled.set(d.endpointId, why);
      metrics.endpointDisabled.set(labels, 1);
      metrics.deliveries.inc({ ...labels, outcome: 'endpoint_disabled' });
      log.error(
        { ...context },
        'endpoint answered 410 Gone: disabled (keyguard webhooks --enable <id> after fixing it)',
      );
      await this.deadLetter(
        d,
        source,
        ErrorCodes.WEBHOOK_ENDPOINT_DISABLED,
        'endpoint_disabled',
        `endpoint disabled: ${why}`,
      );
      return;
    }
    const now = Date.now();
    const step = nextStep(cfg.retry, attempts, d.firstSeenAt, now, result.retryAfterMs);
    const failed = { ...d, attempts, lastError: result.error };
    if (step.kind === 'give_up') {
      metrics.deliveries.inc({ ...labels, outcome: 'gave_up' });
      this.stats.gaveUp++;
      log.error({ ...context, err: result.error, why: step.reason }, 'webhook delivery given up');
      await this.deadLetter(
        failed,
        source,
        ErrorCodes.WEBHOOK_GAVE_UP,
        'gave_up',
        `${step.reason}; last error: ${result.error}`,
      );
      return;
    }
    log.warn(
      { ...context, err: result.error, retryInMs: step.delayMs },
      'webhook attempt failed, will retry',
    );
    await this.scheduleRetry({ ...failed, dueAt: now + step.delayMs }, result.error);
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

  private async deadLetter(
    d: Delivery,
    source: DeadLetterSource,
    code: string,
    reason: 'gave_up' | 'endpoint_disabled',
    detail: string,
  ): Promise<void> {
    const dl = deadLetterMessage(
      code,
      detail,
      source,
      Buffer.from(d.webhookId),
      Buffer.from(JSON.stringify(d)),
    );
    await this.publish(this.deps.env.KEYGUARD_TOPIC_WEBHOOK_DEAD_LETTER, [dl]);
    this.deps.metrics.deadLetters.inc({ reason });
    this.stats.deadLetters++;
  }

  private async commitDue(): Promise<void> {
    if (!this.joined) return;
    const offsets: Array<{ topic: string; partition: number; offset: string }> = [];
    const marks: Array<[OffsetWatermark, string]> = [];
    for (const [key, wm] of this.watermarks) {
      const offset = wm.toCommit();
      if (offset === undefined) continue;
      const slash = key.lastIndexOf('/');
      offsets.push({ topic: key.slice(0, slash), partition: Number(key.slice(slash + 1)), offset });
      marks.push([wm, offset]);
    }
    if (offsets.length === 0) return;
    try {
      await this.consumer.commitOffsets(offsets);
      for (const [wm, offset] of marks) wm.committedAt(offset);
    } catch (err) {
      // A rebalance in progress, a broker restart: the next tick tries again.
      this.deps.metrics.retries.inc({ stage: 'commit offsets' });
      this.deps.log.debug({ err: (err as Error).message }, 'commit failed, will retry');
    }
  }
}

type Decoded<T> = ({ ok: true } & T) | { ok: false; reason: string };

function parseJson(value: Buffer | null): { ok: true; json: unknown } | { ok: false; reason: string } {
  if (!value || value.length === 0) return { ok: false, reason: 'empty record' };
  try {
    return { ok: true, json: JSON.parse(value.toString('utf8')) };
  } catch (err) {
    return { ok: false, reason: `not JSON: ${(err as Error).message}` };
  }
}

export function decodeRecommendation(value: Buffer | null): Decoded<{ rec: Alert }> {
  const p = parseJson(value);
  if (!p.ok) return p;
  const r = alertSchema.safeParse(p.json);
  return r.success ? { ok: true, rec: r.data } : { ok: false, reason: describeIssues(r.error) };
}

function decodeDelivery(value: Buffer | null): Decoded<{ delivery: Delivery }> {
  const p = parseJson(value);
  if (!p.ok) return p;
  const r = deliverySchema.safeParse(p.json);
  return r.success ? { ok: true, delivery: r.data } : { ok: false, reason: describeIssues(r.error) };
}
