/**
 * The market stream, consumed whole by every worker (its own throwaway consumer group, not split
 * with the other workers): each worker needs every market's reference price, and market state is
 * cheap to rebuild, so it lives in process memory rather than behind a shared lock. On start it
 * seeks to `lookbackMs` ago to rebuild the reference window.
 */
import { randomUUID } from 'node:crypto';
import type { Admin, Consumer, EachBatchPayload, Kafka, Message } from 'kafkajs';
import { ErrorCodes } from '../errors.js';
import { decodeEvent } from '../events/decode.js';
import { isMarketEvent } from '../events/schema.js';
import type { Logger } from '../logger.js';
import type { MarketState } from '../market/market-state.js';
import { ConsumerStage } from '../pipeline/consumer-stage.js';
import { deadLetterMessage } from '../pipeline/dead-letter.js';
import { STAGE_EVENTS, type StageInstrumentation } from '../pipeline/instrumentation.js';
import { retryUntilDone } from '../pipeline/retry.js';

export interface MarketFeedOptions {
  topic: string;
  groupId: string;
  lookbackMs: number;
  sessionTimeoutMs: number;
  /** Market events dated further ahead of the clock are dead-lettered (they would move the watermarks). */
  maxFutureSkewMs: number;
  /**
   * Flow control on a backlog: market events later than this are held (the partition waits) until
   * the account side catches up. +∞: no limit (live, or the account side's progress not known).
   */
  aheadLimit?: () => number;
}

export class MarketFeed {
  private readonly stage: ConsumerStage;
  private readonly consumer: Consumer;
  private readonly admin: Admin;
  private readonly applied = new Map<number, number>();
  private readonly starts = new Map<number, number>();
  /** Per partition, the highest event time applied so far. */
  private readonly watermarks = new Map<number, number>();
  /** Per partition, the event time of a record held back by the flow control (not applied yet). */
  private readonly held = new Map<number, number>();
  /** Event times account batches are waiting for (`waitFor`), with how many wait for each. */
  private readonly demands = new Map<number, number>();
  private releaseTimer?: NodeJS.Timeout;

  constructor(
    kafka: Kafka,
    private readonly market: MarketState,
    private readonly opts: MarketFeedOptions,
    private readonly deadLetter: (messages: Message[]) => Promise<void>,
    private readonly log: Logger,
    /** Where the records read are reported (CONSUMED, by kind). */
    instrumentation?: StageInstrumentation,
  ) {
    this.stage = new ConsumerStage({
      name: 'market',
      kafka,
      // A throwaway group: nothing to commit, every start seeks by time.
      groupId: `${opts.groupId}.market.${randomUUID()}`,
      sessionTimeoutMs: opts.sessionTimeoutMs,
      maxWaitTimeInMs: 200,
      topics: [opts.topic],
      partitionsConsumedConcurrently: 3,
      eachBatch: (payload) => this.onBatch(payload),
      log,
      ...(instrumentation ? { instrumentation } : {}),
    });
    this.consumer = this.stage.consumer;
    this.admin = kafka.admin();
  }

  async start(): Promise<void> {
    await this.admin.connect();
    // Right after the topic is created (or a broker restarts) its leaders may not be known yet.
    const deadline = Date.now() + 30_000;
    const since = await retryUntilDone(
      () => this.admin.fetchTopicOffsetsByTimestamp(this.opts.topic, Date.now() - this.opts.lookbackMs),
      {
        minDelayMs: 100,
        maxDelayMs: 2000,
        shouldContinue: () => Date.now() < deadline,
        onRetry: (err, attempt) =>
          this.log.warn(
            { err: (err as Error).message, attempt },
            'market offsets not available yet, retrying',
          ),
      },
    );
    for (const { partition, offset } of since) this.starts.set(partition, Number(offset));
    // Seek once the group is joined — and again after kafkajs restarts a crashed consumer (a broker
    // still loading its coordinator, a restart), when a seek made earlier would throw or be lost.
    this.consumer.on(this.consumer.events.GROUP_JOIN, () => this.seekToNext());
    this.releaseTimer = setInterval(() => this.releaseHeld(), 20);
    this.releaseTimer.unref();
    await this.stage.start();
    this.log.info({ topic: this.opts.topic, starts: Object.fromEntries(this.starts) }, 'market feed started');
  }

  /**
   * Applies a fetched batch to the market state. Offsets are resolved record by record: a batch
   * cut short by the flow control leaves the rest to be read again.
   */
  private async onBatch({ batch, resolveOffset, heartbeat }: EachBatchPayload): Promise<void> {
    if (this.held.has(batch.partition)) return; // fetched before the pause: read again on release
    const dead: Message[] = [];
    const kinds: Record<string, number> = {};
    const clock = { now: Date.now(), maxFutureSkewMs: this.opts.maxFutureSkewMs };
    // Before the seek lands the consumer may read from the beginning, and a refetch may repeat
    // records: apply each offset once, from the lookback start on.
    const from = Math.max(
      this.starts.get(batch.partition) ?? 0,
      (this.applied.get(batch.partition) ?? -1) + 1,
    );
    for (const message of batch.messages) {
      if (Number(message.offset) < from) {
        resolveOffset(message.offset);
        continue;
      }
      const decoded = decodeEvent(message.value?.toString('utf8') ?? '', clock);
      if (decoded.ok && isMarketEvent(decoded.event) && this.tooFarAhead(decoded.event.timestamp)) {
        // Held back: the partition pauses here and is read again from this record once the
        // account side has caught up (see releaseHeld).
        this.held.set(batch.partition, decoded.event.timestamp);
        this.consumer.pause([{ topic: batch.topic, partitions: [batch.partition] }]);
        break;
      }
      const kind = decoded.ok ? decoded.event.kind : 'invalid';
      kinds[kind] = (kinds[kind] ?? 0) + 1;
      if (decoded.ok && isMarketEvent(decoded.event)) {
        const t = decoded.event.timestamp;
        this.market.apply(decoded.event);
        this.watermarks.set(batch.partition, Math.max(this.watermarks.get(batch.partition) ?? t, t));
      } else {
        const code = decoded.ok ? ErrorCodes.EVENT_WRONG_TOPIC : decoded.code;
        const reason = decoded.ok ? `a ${decoded.event.kind} event on the market topic` : decoded.reason;
        const source = { topic: batch.topic, partition: batch.partition, offset: message.offset };
        dead.push(deadLetterMessage(code, reason, source, message.key, message.value));
      }
      resolveOffset(message.offset);
      this.applied.set(batch.partition, Number(message.offset));
    }
    if (dead.length > 0) {
      // Each worker reads the whole market topic, so each reports a bad market record; a
      // failure to publish it must not replay the batch into the market state.
      await this.deadLetter(dead).catch((err) =>
        this.log.error(
          { err: (err as Error).message, records: dead.length },
          'could not publish market dead letters',
        ),
      );
    }
    this.stage.instrumentation.emit(STAGE_EVENTS.CONSUMED, {
      stage: 'market',
      topic: batch.topic,
      partition: batch.partition,
      kinds,
    });
    await heartbeat();
  }

  /**
   * Whether a market event at `t` is further ahead than the account side allows. An account
   * batch waiting for the market to reach at least `t` overrides the limit (the least of those
   * waits is always served, so the slowest partition moves, and the limit with it).
   */
  private tooFarAhead(t: number): boolean {
    const limit = this.opts.aheadLimit;
    return limit !== undefined && t > limit() && t > this.leastDemand();
  }

  /** Resumes held partitions whose next record may now be applied, from that record. */
  private releaseHeld(): void {
    for (const [partition, t] of this.held) {
      if (this.tooFarAhead(t)) continue;
      this.held.delete(partition);
      const offset = String((this.applied.get(partition) ?? (this.starts.get(partition) ?? 0) - 1) + 1);
      try {
        this.consumer.seek({ topic: this.opts.topic, partition, offset });
      } catch (err) {
        this.log.debug({ err: (err as Error).message, partition }, 'market seek on release skipped');
      }
      this.consumer.resume([{ topic: this.opts.topic, partitions: [partition] }]);
    }
  }

  /** The earliest event time an account batch is waiting for (−∞ when none waits). */
  private leastDemand(): number {
    return this.demands.size > 0 ? Math.min(...this.demands.keys()) : Number.NEGATIVE_INFINITY;
  }

  /** Skips what is before the lookback start or already applied (eachBatch filters those too). */
  private seekToNext(): void {
    for (const [partition, start] of this.starts) {
      const offset = Math.max(start, (this.applied.get(partition) ?? -1) + 1);
      try {
        this.consumer.seek({ topic: this.opts.topic, partition, offset: String(offset) });
      } catch (err) {
        this.log.debug({ err: (err as Error).message, partition }, 'market seek skipped');
      }
    }
  }

  /** The market topic's end offsets now (one ListOffsets request): what "caught up" means. */
  private async highWatermarks(): Promise<Map<number, number>> {
    const offsets = await this.admin.fetchTopicOffsets(this.opts.topic);
    return new Map(offsets.map((o) => [o.partition, Number(o.high)]));
  }

  /** Every partition has passed `eventTime`, or has applied all it held when `high` was read. */
  private reached(eventTime: number, high: Map<number, number>): boolean {
    for (const [partition, h] of high) {
      // Strictly past: another print of the same millisecond may follow on the partition. A record
      // held back by the flow control that is later than `eventTime` proves the same.
      if ((this.watermarks.get(partition) ?? Number.NEGATIVE_INFINITY) > eventTime) continue;
      if ((this.held.get(partition) ?? Number.NEGATIVE_INFINITY) > eventTime) continue;
      const done = this.applied.get(partition) ?? (this.starts.get(partition) ?? 0) - 1;
      if (done < h - 1) return false;
    }
    return true;
  }

  /**
   * Waits (at most `maxWaitMs`) until every market partition has reached `eventTime` or has
   * applied everything published before the call, so an account batch is scored against the
   * market as it was. Returns false on time-out (the batch is then scored with what is known).
   */
  async waitFor(eventTime: number, maxWaitMs: number): Promise<boolean> {
    if (
      this.starts.size > 0 &&
      [...this.starts.keys()].every((p) => (this.watermarks.get(p) ?? -Infinity) > eventTime)
    ) {
      return true; // every partition is already past it: no need to ask the broker
    }
    const deadline = Date.now() + maxWaitMs;
    const high = await this.highWatermarks();
    this.demands.set(eventTime, (this.demands.get(eventTime) ?? 0) + 1);
    try {
      for (;;) {
        if (this.reached(eventTime, high)) return true;
        // The time-out is for a market stream that is late or silent; one held back by the flow
        // control is neither (it moves as the slowest account partition does).
        if (Date.now() >= deadline && this.held.size === 0) return false;
        await new Promise((r) => setTimeout(r, 5));
      }
    } finally {
      const n = (this.demands.get(eventTime) ?? 1) - 1;
      if (n > 0) this.demands.set(eventTime, n);
      else this.demands.delete(eventTime);
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.releaseTimer);
    await this.stage.stop();
    await this.admin.disconnect();
  }
}
