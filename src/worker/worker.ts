/**
 * `keyguard worker`: the streaming pipeline. Account topics (orders, fills, apikeys) are shared by
 * the consumer group, partition N of each topic going to the same worker; the market topic is read
 * whole by every worker. Fetched records join their partition number's merge buffer; what is in
 * event-time order goes on, the ready records of every partition of a fetch together as one unit:
 * decode → wait for the market to reach the records' event time → evaluate (one Redis read) →
 * publish alerts, recommendations and dead letters and wait for Kafka's acks → save baselines (one
 * Redis write, idempotent per source position) → commit the offsets (one request). Any failure on
 * the way pauses the unit's partitions and retries with backoff; nothing is skipped, and a crash
 * anywhere redoes the work with the same alert ids.
 */
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage, Message } from 'kafkajs';
import type { DetectionConfig } from '../config/detection.js';
import type { RuntimeEnv } from '../config/runtime.js';
import { DetectionEngine, type SequencedEvent } from '../detection/engine.js';
import { ErrorCodes, KeyguardError } from '../errors.js';
import { type DecodeResult, decodeEvent, eventId } from '../events/decode.js';
import { observationRecord } from '../events/observation.js';
import { type Alert, isMarketEvent } from '../events/schema.js';
import type { AckedProducer } from '../kafka/acked-producer.js';
import { createMissingTopics, topicLayout } from '../kafka/topics.js';
import type { Logger } from '../logger.js';
import { MarketState } from '../market/market-state.js';
import type { WorkerMetrics } from '../observability/metrics.js';
import { recordStageMetrics } from '../observability/stage-metrics.js';
import { alertRecords } from '../pipeline/alert-routing.js';
import { ConsumerStage } from '../pipeline/consumer-stage.js';
import { deadLetterMessage } from '../pipeline/dead-letter.js';
import { STAGE_EVENTS } from '../pipeline/instrumentation.js';
import { retryUntilDone } from '../pipeline/retry.js';
import { stageProducer } from '../pipeline/stage-producer.js';
import type { BaselineStore } from '../state/baseline-store.js';
import { ConfigFeed, type ConfigFeedReport, configFeedOptions } from './config-feed.js';
import { coPartitionedAssigner } from './copartitioned-assigner.js';
import { MarketFeed } from './market-feed.js';
import { type BufferedRecord, PartitionMerge } from './partition-merge.js';

/** After a join, how long partitions not fetched yet keep the account floor unknown. */
const ACCOUNT_FLOOR_GRACE_MS = 10_000;

/** A fetched Kafka record with its decoding. */
type FetchedRecord = KafkaMessage & { decoded: DecodeResult };

/** The next offset to fetch of every topic-partition of a unit: one past its last record. */
function nextOffsets(
  parts: readonly UnitPart[],
): Array<{ topic: string; partition: number; offset: string }> {
  const next = new Map<string, { topic: string; partition: number; offset: bigint }>();
  for (const { partition, items } of parts) {
    for (const item of items) {
      const tp = `${item.topic}/${partition}`;
      const o = BigInt(item.offset) + 1n;
      if ((next.get(tp)?.offset ?? -1n) < o) next.set(tp, { topic: item.topic, partition, offset: o });
    }
  }
  return [...next.values()].map((o) => ({ ...o, offset: o.offset.toString() }));
}

/** One partition's records ready to be scored, with the batch they came in. */
interface UnitPart {
  partition: number;
  items: Array<BufferedRecord<FetchedRecord>>;
  payload: EachBatchPayload;
}

/** The parts joined into one unit of work, and its completion. */
interface Unit {
  parts: UnitPart[];
  done: Promise<void>;
}

export interface WorkerDeps {
  kafka: Kafka;
  env: RuntimeEnv;
  cfg: DetectionConfig;
  store: BaselineStore;
  log: Logger;
  metrics?: WorkerMetrics;
}

export interface WorkerStats {
  batches: number;
  events: number;
  alerts: number;
  recommendations: number;
  deadLetters: number;
  retries: number;
  marketWaitTimeouts: number;
  /** Wall-clock time the first batch arrived (benchmarks measure from here, after the group join). */
  firstBatchAt?: number;
  /** Processing time of the slowest batch and the largest batch, for tuning. */
  maxBatchMs: number;
  maxBatchEvents: number;
  /** The most partitions one unit of work held (the batches of a fetch are joined). */
  maxUnitPartitions: number;
  batchMsTotal: number;
  /** Partition numbers this worker has processed batches of. */
  partitions: number[];
  /** Per step of a batch (wait for market, evaluate, publish, save baselines, commit offsets): count, total and slowest ms. */
  steps: Record<string, { count: number; totalMs: number; maxMs: number }>;
}

/** The config feed's reports as metrics: records by result, the latest version, when the topic was last read. */
function configMetrics(metrics: WorkerMetrics): ConfigFeedReport {
  return {
    record: (result) => metrics.configRecords.inc({ result }),
    latest: ({ version, effectiveFrom }) => {
      metrics.configVersion.reset();
      metrics.configVersion.set({ version, effective_from: String(effectiveFrom) }, 1);
    },
    read: (at) => metrics.configReadAt.set(at / 1000),
  };
}

export class Worker {
  private readonly stage: ConsumerStage;
  private readonly consumer: Consumer;
  private readonly producer: AckedProducer;
  private readonly market: MarketState;
  private readonly feed: MarketFeed;
  private readonly engine: DetectionEngine;
  private readonly config: ConfigFeed;
  private stopping = false;
  private joined = false;
  /** Partition numbers assigned to this member (told to the sticky assigner when rejoining). */
  private owned: number[] = [];
  /** When this member last joined the group. */
  private joinedAt = 0;
  /** Per owned partition number: the event time processed up to, and whether records remain. */
  private readonly progress = new Map<number, { time: number; lagging: boolean }>();
  /** Per account topic-partition: records behind the end as of the last fetch. */
  private readonly lag = new Map<string, number>();
  /** Paused partition numbers (a failure being retried), and since when. */
  private readonly paused = new Map<number, number>();
  /**
   * Per topic-partition: the next offset to process, as committed (or, before the first commit,
   * the first offset fetched). Records are resolved (fetching moves on) before they are processed,
   * so work that is abandoned must seek back here or it would not be fetched again.
   */
  private readonly restartAt = new Map<string, { topic: string; partition: number; offset: string }>();
  private readonly locks = new Map<number, Promise<void>>();
  /** The unit of work taking parts in this turn of the event loop (see joinUnit). */
  private forming?: Unit;
  /** Per partition number: orders and fills waiting to be merged in event-time order. */
  private readonly merges = new Map<number, PartitionMerge<FetchedRecord>>();
  readonly stats: WorkerStats = {
    batches: 0,
    events: 0,
    alerts: 0,
    recommendations: 0,
    deadLetters: 0,
    retries: 0,
    marketWaitTimeouts: 0,
    maxBatchMs: 0,
    maxBatchEvents: 0,
    maxUnitPartitions: 0,
    batchMsTotal: 0,
    partitions: [],
    steps: {},
  };

  constructor(private readonly deps: WorkerDeps) {
    const { kafka, env, cfg } = deps;
    this.producer = stageProducer(kafka, env, deps.log);
    this.stage = new ConsumerStage({
      name: 'worker',
      kafka,
      groupId: env.KEYGUARD_GROUP_ID,
      sessionTimeoutMs: env.KEYGUARD_SESSION_TIMEOUT_MS,
      maxWaitTimeInMs: 200,
      partitionAssigners: [coPartitionedAssigner(() => this.owned)],
      topics: this.accountTopics,
      // Every batch of a fetch is handed over at once and joins one unit of work (see joinUnit); a
      // lock per partition number keeps co-partitioned topics of the same number from running at once.
      partitionsConsumedConcurrently: 64,
      eachBatch: (payload) => this.handleBatch(payload),
      log: deps.log,
    });
    this.consumer = this.stage.consumer;
    const events = this.stage.instrumentation;
    events.on(STAGE_EVENTS.RETRY, () => this.stats.retries++);
    events.on(STAGE_EVENTS.STEP_DONE, ({ step, ms }) => {
      const s = (this.stats.steps[step] ??= { count: 0, totalMs: 0, maxMs: 0 });
      s.count++;
      s.totalMs += ms;
      s.maxMs = Math.max(s.maxMs, Math.round(ms));
    });
    if (deps.metrics) recordStageMetrics(events, deps.metrics);
    this.market = new MarketState(cfg, () => this.accountFloor());
    this.config = new ConfigFeed(
      kafka,
      cfg,
      configFeedOptions(env),
      deps.log.child({ module: 'config' }),
      deps.metrics && configMetrics(deps.metrics),
    );
    this.engine = new DetectionEngine(cfg, deps.store, this.market, { versions: this.config.timeline });
    this.feed = new MarketFeed(
      kafka,
      this.market,
      {
        topic: env.KEYGUARD_TOPIC_MARKET,
        groupId: env.KEYGUARD_GROUP_ID,
        lookbackMs: env.KEYGUARD_MARKET_LOOKBACK_MS,
        sessionTimeoutMs: env.KEYGUARD_SESSION_TIMEOUT_MS,
        maxFutureSkewMs: cfg.events.maxFutureSkewMs,
        aheadLimit: () => {
          const floor = this.accountFloor();
          return Number.isFinite(floor) ? floor + env.KEYGUARD_MARKET_MAX_AHEAD_MS : Number.POSITIVE_INFINITY;
        },
      },
      async (messages) => {
        await this.producer.publish([{ topic: env.KEYGUARD_TOPIC_DEAD_LETTER, messages }]);
        events.emit(STAGE_EVENTS.PUBLISHED, { stage: 'market', alerts: [], deadLetters: messages });
      },
      deps.log.child({ module: 'market-feed' }),
      events,
    );
  }

  private get accountTopics(): string[] {
    const e = this.deps.env;
    return [...new Set([e.KEYGUARD_TOPIC_ORDERS, e.KEYGUARD_TOPIC_FILLS, e.KEYGUARD_TOPIC_APIKEYS])];
  }

  /**
   * The account side's progress, for the market stream: the earliest event time this worker may
   * still score, i.e. the least progress among its partitions that have records left. +∞ when
   * none has (live: the market keeps only `reference.historyMs`); −∞ while not known yet (before
   * joining, and for a few seconds after, until every owned partition has been fetched). The market
   * keeps its history from here and is held back when it runs KEYGUARD_MARKET_MAX_AHEAD_MS beyond,
   * so a backlog is scored against the market as it was, without unbounded memory.
   */
  accountFloor(now = Date.now()): number {
    if (!this.joined) return Number.NEGATIVE_INFINITY;
    let floor = Number.POSITIVE_INFINITY;
    let unknown = false;
    for (const partition of this.owned) {
      const p = this.progress.get(partition);
      if (!p) unknown = true;
      else if (p.lagging) floor = Math.min(floor, p.time);
    }
    return unknown && now - this.joinedAt < ACCOUNT_FLOOR_GRACE_MS ? Number.NEGATIVE_INFINITY : floor;
  }

  /** Records left on this partition number's order and fill topics, as of their last fetch. */
  private lagging(partition: number): boolean {
    const e = this.deps.env;
    return [e.KEYGUARD_TOPIC_ORDERS, e.KEYGUARD_TOPIC_FILLS].some(
      (topic) => (this.lag.get(`${topic}/${partition}`) ?? 0) > 0,
    );
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
        e.KEYGUARD_TOPIC_CAMPAIGN_OBSERVATIONS,
      ];
      await createMissingTopics(this.deps.kafka, [...inputs, ...outputs], topicLayout(e));
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

  /** Whether this consumer group has committed any account-topic offset (it did work before). */
  private async groupHasCommitted(): Promise<boolean> {
    const admin = this.deps.kafka.admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchOffsets({
        groupId: this.deps.env.KEYGUARD_GROUP_ID,
        topics: this.accountTopics,
      });
      return offsets.some((t) => t.partitions.some((p) => Number(p.offset) > 0));
    } finally {
      await admin.disconnect();
    }
  }

  async start(): Promise<void> {
    await this.ensureTopics();
    // Redis may not answer yet, nor the group coordinator (a fresh broker still loading its offsets
    // topic): wait for both. The epoch is what later tells a lost state apart.
    await retryUntilDone(async () => this.deps.store.openEpoch?.(await this.groupHasCommitted()), {
      minDelayMs: 200,
      maxDelayMs: 5000,
      shouldContinue: () => !this.stopping,
      onRetry: (err, attempt) =>
        this.deps.log.warn(
          { err: (err as Error).message, attempt },
          'state epoch or group offsets not available at start, retrying',
        ),
    });
    await this.producer.connect();
    await this.config.start();
    await this.feed.start();
    // After a rebalance the consumer fetches again from the committed offsets: drop what was buffered.
    this.consumer.on(this.consumer.events.GROUP_JOIN, ({ payload }) => {
      this.owned = [...new Set(Object.values(payload.memberAssignment).flat())].sort((a, b) => a - b);
      this.joinedAt = Date.now();
      this.progress.clear();
      this.lag.clear();
      // Buffered records were resolved but not processed: fetch them again, then start afresh.
      for (const [partition, merge] of this.merges) if (merge.size > 0) this.seekBack(partition);
      this.merges.clear();
      this.restartAt.clear();
      this.joined = true;
    });
    await this.stage.start();
    this.deps.log.info({ topics: this.accountTopics }, 'worker started');
  }

  /**
   * Ready when the producer is connected, the group joined, the baseline store answers, and no
   * partition has been paused (retrying a failure) for longer than KEYGUARD_MAX_PAUSED_MS: a
   * worker stuck on a partition must not look healthy while its lag grows.
   */
  async readiness(now = Date.now()): Promise<{ ready: boolean; detail: Record<string, unknown> }> {
    const store = this.deps.store as BaselineStore & { ping?: () => Promise<boolean> };
    const storeOk = store.ping ? await store.ping() : true;
    const stuck = [...this.paused]
      .filter(([, since]) => now - since > this.deps.env.KEYGUARD_MAX_PAUSED_MS)
      .map(([partition, since]) => ({ partition, pausedForMs: now - since }));
    const detail: Record<string, unknown> = {
      kafkaProducer: this.producer.connected,
      consumerGroupJoined: this.joined,
      store: storeOk,
      pausedPartitions: this.paused.size,
      configVersion: this.config.timeline.latest().version,
      configReadAgeMs: this.config.readAgeMs(now),
    };
    if (stuck.length > 0) {
      detail.stuckPartitions = stuck;
      detail.reason = `partition(s) ${stuck.map((s) => s.partition).join(', ')} paused for over ${this.deps.env.KEYGUARD_MAX_PAUSED_MS} ms retrying a failure (see the log's "retrying after a failure" lines)`;
    }
    return {
      ready: this.stage.isRunning && this.producer.connected && this.joined && storeOk && stuck.length === 0,
      detail,
    };
  }

  /** Finishes the batch in flight, commits it, and leaves the group. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.stage.stop();
    await this.feed.stop();
    await this.config.stop();
    await this.producer.disconnect();
  }

  /** A fetched batch joins its partition's merge buffer; whatever is in event-time order goes on. */
  private handleBatch(payload: EachBatchPayload): Promise<void> {
    return this.exclusive(payload.batch.partition, () => this.mergeAndProcess(payload));
  }

  private async mergeAndProcess(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    if (batch.messages.length === 0) return;
    this.stats.firstBatchAt ??= Date.now();
    const tp = `${batch.topic}/${batch.partition}`;
    if (!this.restartAt.has(tp)) {
      this.restartAt.set(tp, {
        topic: batch.topic,
        partition: batch.partition,
        offset: batch.firstOffset() ?? '0',
      });
    }
    const clock = { now: Date.now(), maxFutureSkewMs: this.deps.cfg.events.maxFutureSkewMs };
    const records: Array<BufferedRecord<FetchedRecord>> = batch.messages.map((m) => {
      const decoded = decodeEvent(m.value?.toString('utf8') ?? '', clock);
      return {
        topic: batch.topic,
        offset: m.offset,
        timestamp: decoded.ok ? decoded.event.timestamp : undefined,
        payload: { ...m, decoded },
      };
    });
    const lag = Math.max(0, Number(BigInt(batch.highWatermark) - BigInt(batch.lastOffset()) - 1n));
    this.lag.set(tp, lag);
    const instrumentation = this.stage.instrumentation;
    if (instrumentation.has(STAGE_EVENTS.CONSUMED)) {
      const kinds: Record<string, number> = {};
      for (const r of records) {
        const kind = r.payload.decoded.ok ? r.payload.decoded.event.kind : 'invalid';
        kinds[kind] = (kinds[kind] ?? 0) + 1;
      }
      instrumentation.emit(STAGE_EVENTS.CONSUMED, {
        stage: 'worker',
        topic: batch.topic,
        partition: batch.partition,
        kinds,
        lag,
      });
    }
    const merge = this.mergeFor(batch.partition);
    merge.add(batch.topic, records, BigInt(batch.lastOffset()) + 1n >= BigInt(batch.highWatermark));
    payload.resolveOffset(batch.lastOffset()); // fetching goes on; committing waits for processing
    let ready = merge.take();
    // At start-up a co-partitioned topic may not have been fetched yet: give it a moment.
    for (let waited = 0; ready.length === 0 && merge.size > 0 && waited < 1200; waited += 100) {
      await new Promise((r) => setTimeout(r, 100));
      await payload.heartbeat();
      ready = merge.take();
    }
    if (ready.length > 0) await this.joinUnit({ partition: batch.partition, items: ready, payload });
  }

  /** Runs `fn` after whatever is already running for this partition number. */
  private async exclusive(partition: number, fn: () => Promise<void>): Promise<void> {
    const previous = this.locks.get(partition) ?? Promise.resolve();
    const current = previous.then(fn, fn);
    this.locks.set(partition, current);
    try {
      await current;
    } finally {
      if (this.locks.get(partition) === current) this.locks.delete(partition);
    }
  }

  private mergeFor(partition: number): PartitionMerge<FetchedRecord> {
    let merge = this.merges.get(partition);
    if (!merge) {
      const e = this.deps.env;
      merge = new PartitionMerge([e.KEYGUARD_TOPIC_ORDERS, e.KEYGUARD_TOPIC_FILLS]);
      this.merges.set(partition, merge);
    }
    return merge;
  }

  /**
   * Joins the records made ready in this turn of the event loop by every partition's batch (the
   * batches of one fetch arrive together) into one unit: one market wait, one Redis read, one acked
   * publish, one Redis write and one offset commit for all of them, instead of one each. Partitions
   * hold different accounts, so scoring them together changes nothing but the round trips; each
   * partition's lock keeps it in at most one unit at a time.
   */
  private joinUnit(part: UnitPart): Promise<void> {
    let unit = this.forming;
    if (!unit) {
      const parts: UnitPart[] = [];
      const formed: Unit = {
        parts,
        done: new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
          if (this.forming === formed) this.forming = undefined;
          return this.process(parts);
        }),
      };
      this.forming = unit = formed;
    }
    unit.parts.push(part);
    return unit.done;
  }

  /**
   * A unit's records sorted out: the events to score (with their Kafka append times and each
   * partition's latest event time), and dead letters for what does not decode or is on the wrong
   * topic.
   */
  private unitRecords(parts: readonly UnitPart[]) {
    const topicMarket = this.deps.env.KEYGUARD_TOPIC_MARKET;
    const events: SequencedEvent[] = [];
    const dead: Message[] = [];
    const byPosition = new Map<string, KafkaMessage>();
    /** Kafka timestamps of the decoded events, by event id: for the append → alert latency. */
    const appendedAt = new Map<string, number>();
    /** Per partition, the latest event time among its records. */
    const latest = new Map<number, number>();
    let maxTime = Number.NEGATIVE_INFINITY;
    let records = 0;
    for (const { partition, items } of parts) {
      records += items.length;
      for (const item of items) {
        const m = item.payload;
        const where = { topic: item.topic, partition, offset: m.offset, timestamp: m.timestamp };
        const source = `${item.topic}/${partition}`;
        byPosition.set(`${source}@${m.offset}`, m);
        if (!m.decoded.ok) {
          dead.push(deadLetterMessage(m.decoded.code, m.decoded.reason, where, m.key, m.value));
        } else if (isMarketEvent(m.decoded.event)) {
          const reason = `a ${m.decoded.event.kind} event on account topic ${item.topic} (market events go to ${topicMarket})`;
          dead.push(deadLetterMessage(ErrorCodes.EVENT_WRONG_TOPIC, reason, where, m.key, m.value));
        } else {
          const t = m.decoded.event.timestamp;
          events.push({ seq: Number(m.offset), event: m.decoded.event, source });
          appendedAt.set(eventId(m.decoded.event), Number(m.timestamp));
          latest.set(partition, Math.max(latest.get(partition) ?? t, t));
          maxTime = Math.max(maxTime, t);
        }
      }
    }
    return { events, dead, byPosition, appendedAt, latest, maxTime, records };
  }

  private async process(parts: readonly UnitPart[]): Promise<void> {
    const startedAt = performance.now();
    const env = this.deps.env;
    const partitions = parts.map((p) => p.partition);
    const { events, dead, byPosition, appendedAt, latest, maxTime, records } = this.unitRecords(parts);
    // One batch of the unit stale (its partition moved) or stopped: the whole unit is given up.
    const retry = this.stage.batchRetry(
      {
        heartbeat: () => parts[0]!.payload.heartbeat(),
        isRunning: () => parts.every((p) => p.payload.isRunning()),
        isStale: () => parts.some((p) => p.payload.isStale()),
      },
      partitions,
      () => {
        for (const p of partitions) this.pausePartition(p);
      },
    );
    try {
      // Live and backlog events alike are almost always known already: no await on the hot path.
      if (events.length > 0 && !this.config.knowsVersionsAt(maxTime))
        await retry('wait for config', () =>
          this.config.waitFor(maxTime, 2 * env.KEYGUARD_CONFIG_POLL_MS + 5000),
        );
      const marketReady =
        events.length === 0 ||
        (await retry('wait for market', () => this.feed.waitFor(maxTime, env.KEYGUARD_MARKET_WAIT_MS)));
      if (!marketReady) {
        this.stats.marketWaitTimeouts++;
        this.stage.instrumentation.emit(STAGE_EVENTS.MARKET_WAIT_TIMEOUT, { stage: 'worker', partitions });
      }
      const outcome = await retry('evaluate', () => this.engine.evaluate(events));
      for (const f of outcome.failures) {
        const source = f.source ?? '';
        const m = byPosition.get(`${source}@${f.seq}`);
        const at = source.lastIndexOf('/');
        const where = {
          topic: source.slice(0, at),
          partition: Number(source.slice(at + 1)),
          offset: String(f.seq),
        };
        dead.push(deadLetterMessage(f.code, `${eventId(f.event)}: ${f.reason}`, where, m?.key, m?.value));
      }
      const [alerts, recommendations] = alertRecords(outcome.alerts, {
        alerts: env.KEYGUARD_TOPIC_ALERTS,
        recommendations: env.KEYGUARD_TOPIC_RECOMMENDATIONS,
      });
      // Re-keyed for the campaign aggregator, in the same acked send: committed offsets imply they landed.
      const observations = outcome.observations.map(observationRecord);
      // In sends under the broker's size limit; a retry resumes after the sends already acked.
      const publication = this.producer.publication([
        alerts!,
        recommendations!,
        { topic: env.KEYGUARD_TOPIC_DEAD_LETTER, messages: dead },
        { topic: env.KEYGUARD_TOPIC_CAMPAIGN_OBSERVATIONS, messages: observations },
      ]);
      await retry('publish', () => publication.attempt());
      await retry('save baselines', () => this.engine.commit(outcome));
      const offsets = nextOffsets(parts);
      await retry('commit offsets', () => this.consumer.commitOffsets(offsets));
      for (const o of offsets) this.restartAt.set(`${o.topic}/${o.partition}`, o);
      this.unitDone(partitions, latest, outcome.alerts, {
        records,
        recommendations: recommendations!.messages.length,
        dead,
        appendedAt,
        observations: observations.length,
        ms: performance.now() - startedAt,
      });
      await parts[0]!.payload.heartbeat();
    } catch (err) {
      // Shutting down, or a partition moved: nothing was committed; the unit is redone.
      this.stage.abandoned(err, partitions, () => {
        for (const partition of partitions) {
          this.resumePartition(partition);
          this.merges.delete(partition);
          this.seekBack(partition);
        }
      });
    }
  }

  /** A unit committed: its partitions' progress, resumed; the alerts logged; stats and events. */
  private unitDone(
    partitions: readonly number[],
    latest: ReadonlyMap<number, number>,
    alerts: readonly Alert[],
    done: {
      records: number;
      recommendations: number;
      dead: readonly Message[];
      appendedAt: ReadonlyMap<string, number>;
      observations: number;
      ms: number;
    },
  ): void {
    for (const partition of partitions) {
      const before = this.progress.get(partition)?.time ?? Number.NEGATIVE_INFINITY;
      this.progress.set(partition, {
        time: Math.max(before, latest.get(partition) ?? before),
        lagging: this.lagging(partition) || (this.merges.get(partition)?.size ?? 0) > 0,
      });
      this.resumePartition(partition);
      if (!this.stats.partitions.includes(partition)) this.stats.partitions.push(partition);
    }
    for (const a of alerts) {
      this.deps.log.info(
        {
          alertId: a.alertId,
          accountId: a.accountId,
          recommendation: a.recommendation,
          severity: a.severity,
        },
        'alert',
      );
    }
    const { records, ms } = done;
    const stats = this.stats;
    stats.batches++;
    stats.events += records;
    stats.alerts += alerts.length;
    stats.recommendations += done.recommendations;
    stats.deadLetters += done.dead.length;
    stats.batchMsTotal += ms;
    stats.maxBatchMs = Math.max(stats.maxBatchMs, Math.round(ms));
    stats.maxBatchEvents = Math.max(stats.maxBatchEvents, records);
    stats.maxUnitPartitions = Math.max(stats.maxUnitPartitions, partitions.length);
    const events = this.stage.instrumentation;
    events.emit(STAGE_EVENTS.PUBLISHED, {
      stage: 'worker',
      alerts,
      deadLetters: done.dead,
      appendedAt: done.appendedAt,
      observations: done.observations,
    });
    events.emit(STAGE_EVENTS.BATCH_DONE, { stage: 'worker', partitions, records, ms });
  }

  /** Sends fetching back to the first unprocessed record of each topic of a partition number. */
  private seekBack(partition: number): void {
    for (const at of this.restartAt.values()) {
      if (at.partition !== partition) continue;
      try {
        this.consumer.seek(at);
      } catch (err) {
        // Not ours any more (a rebalance moved it): the new owner starts from the committed offset.
        this.deps.log.debug({ err: (err as Error).message, ...at }, 'seek back skipped');
      }
    }
  }

  private pausePartition(partition: number): void {
    if (!this.paused.has(partition)) this.paused.set(partition, Date.now());
    this.stage.instrumentation.emit(STAGE_EVENTS.PAUSED, { stage: 'worker', partitions: this.paused.size });
    this.consumer.pause(this.accountTopics.map((topic) => ({ topic, partitions: [partition] })));
  }

  private resumePartition(partition: number): void {
    if (this.paused.delete(partition))
      this.stage.instrumentation.emit(STAGE_EVENTS.PAUSED, { stage: 'worker', partitions: this.paused.size });
    this.consumer.resume(this.accountTopics.map((topic) => ({ topic, partitions: [partition] })));
  }
}
