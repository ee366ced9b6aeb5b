/**
 * The consumer stage every Kafka consumer here is made of: the group member (liveness settings,
 * assigners), start and restart after a fatal crash, the batch retry (pause the partition on the
 * first failure, heartbeat while waiting, give up when the partition moves or the process stops)
 * and what an abandoned batch means (nothing committed: redone, after a rejoin if membership was
 * lost). The worker, the campaign aggregator, the webhook dispatcher and the market feed are
 * compositions of it; what a batch *does* stays theirs.
 */
import type { Consumer, EachBatchPayload, Kafka, PartitionAssigner } from 'kafkajs';
import { groupLiveness } from '../kafka/connection.js';
import type { Logger } from '../logger.js';
import { STAGE_EVENTS, StageInstrumentation } from './instrumentation.js';
import { groupMembershipError, RetryAbandoned, rejoinError, retryUntilDone } from './retry.js';

export interface ConsumerStageOptions {
  /** The stage's name in logs and instrumentation ("worker", "campaigns", "webhooks", "market"). */
  name: string;
  kafka: Kafka;
  groupId: string;
  sessionTimeoutMs: number;
  /** How long a fetch may wait for records: the latency floor of the stage. */
  maxWaitTimeInMs: number;
  partitionAssigners?: PartitionAssigner[];
  topics: readonly string[];
  partitionsConsumedConcurrently: number;
  eachBatch: (payload: EachBatchPayload) => Promise<void>;
  log: Logger;
  instrumentation?: StageInstrumentation;
}

/** Retries one step of a batch until done; see `ConsumerStage.batchRetry`. */
export type StepRetry = <T>(step: string, fn: () => Promise<T>) => Promise<T>;

/** Backoff of the batch steps: an outage is retried every 5 s at most, forever while it matters. */
const STEP_DELAY = { minDelayMs: 100, maxDelayMs: 5000 };
/** Backoff of restarting a consumer that stopped after a non-retriable error. */
const RESTART_DELAY = { minDelayMs: 1000, maxDelayMs: 30_000 };
/** A wait that does not keep the process alive. */
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

export class ConsumerStage {
  readonly consumer: Consumer;
  readonly instrumentation: StageInstrumentation;
  private running = false;

  constructor(private readonly opts: ConsumerStageOptions) {
    this.instrumentation = opts.instrumentation ?? new StageInstrumentation();
    this.consumer = opts.kafka.consumer({
      groupId: opts.groupId,
      ...groupLiveness(opts.sessionTimeoutMs),
      maxWaitTimeInMs: opts.maxWaitTimeInMs,
      ...(opts.partitionAssigners ? { partitionAssigners: opts.partitionAssigners } : {}),
    });
    // kafkajs restarts a crashed consumer only after retriable errors; after a non-retriable one
    // (the group coordinator not found while a broker restarts, say) it would sit idle,
    // healthy-looking. Start it again — connect, subscribe, run — from the committed offsets.
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
      if (payload.restart || !this.running) return;
      const error = payload.error?.message ?? String(payload.error);
      this.opts.log.error(
        { err: error, stage: opts.name },
        'consumer stopped after a non-retriable error: restarting it',
      );
      this.instrumentation.emit(STAGE_EVENTS.RESTART, { stage: opts.name, error });
      const again = () =>
        retryUntilDone(() => this.run(), {
          ...RESTART_DELAY,
          shouldContinue: () => this.running,
          onRetry: (err, attempt, delayMs) =>
            this.opts.log.error(
              { err: (err as Error).message, attempt, retryInMs: delayMs },
              'consumer restart failed, will try again',
            ),
          sleep,
        });
      // A moment first: what crashed it (a broker restarting) is rarely over at once.
      sleep(RESTART_DELAY.minDelayMs)
        .then(again)
        .then(
          () => this.opts.log.info({ stage: opts.name }, 'consumer restarted'),
          () => undefined, // stopped meanwhile
        );
    });
  }

  get isRunning(): boolean {
    return this.running;
  }

  async start(): Promise<void> {
    this.running = true;
    await this.run();
  }

  /** Stops fetching; the batch in flight finishes (or is abandoned) first. */
  async stop(): Promise<void> {
    this.running = false;
    await this.consumer.disconnect();
  }

  private async run(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [...this.opts.topics], fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.opts.partitionsConsumedConcurrently,
      eachBatch: this.opts.eachBatch,
    });
  }

  /**
   * The retry of a batch's steps: forever while the stage runs and the batch is still this
   * member's; on the first failure `onFirstFailure` (pause the partition: fetching stops while
   * the step waits); heartbeats between attempts so a long outage keeps the partitions. Gives up
   * (`RetryAbandoned`) at once when the member left the group: only a rejoin fixes that.
   * `partitions`: the partition numbers the batch holds records of (one batch may join several).
   */
  batchRetry(
    payload: Pick<EachBatchPayload, 'heartbeat' | 'isRunning' | 'isStale'>,
    partitions: readonly number[],
    onFirstFailure: () => void,
  ): StepRetry {
    const { heartbeat, isRunning, isStale } = payload;
    const timed = this.instrumentation.has(STAGE_EVENTS.STEP_DONE);
    return async (step, fn) => {
      const startedAt = timed ? performance.now() : 0;
      const result = await retryUntilDone(fn, {
        ...STEP_DELAY,
        shouldContinue: () => this.running && isRunning() && !isStale(),
        giveUpOn: (err) => groupMembershipError(err) !== undefined,
        onRetry: async (err, attempt, delayMs) => {
          this.reportRetry(step, err, attempt, delayMs, partitions);
          if (attempt === 1) onFirstFailure();
          await heartbeat().catch(() => {});
        },
      });
      if (timed)
        this.instrumentation.emit(STAGE_EVENTS.STEP_DONE, {
          stage: this.opts.name,
          step,
          partitions,
          ms: performance.now() - startedAt,
        });
      return result;
    };
  }

  /**
   * Retries a step outside a batch (a delivery settling, a start-up check) while the stage runs,
   * heartbeating through `heartbeat` when given.
   */
  retry<T>(
    step: string,
    fn: () => Promise<T>,
    heartbeat?: () => Promise<void>,
    shouldContinue: () => boolean = () => this.running,
  ): Promise<T> {
    return retryUntilDone(fn, {
      ...STEP_DELAY,
      shouldContinue,
      onRetry: async (err, attempt, delayMs) => {
        this.reportRetry(step, err, attempt, delayMs);
        await heartbeat?.().catch(() => undefined);
      },
    });
  }

  /** One failed attempt of a step: the RETRY event and the log line operators grep for. */
  private reportRetry(
    step: string,
    err: unknown,
    attempt: number,
    delayMs: number,
    partitions?: readonly number[],
  ): void {
    const error = (err as Error).message;
    const where = partitions === undefined ? {} : { partitions };
    this.instrumentation.emit(STAGE_EVENTS.RETRY, {
      stage: this.opts.name,
      step,
      attempt,
      delayMs,
      error,
      ...where,
    });
    this.opts.log.warn({ err: error, what: step, attempt, delayMs, ...where }, 'retrying after a failure');
  }

  /**
   * What a batch handler does with a failure: a `RetryAbandoned` means nothing was committed, so
   * `redo` puts the batch back to be fetched again, and when the member lost its membership the
   * error kafkajs rejoins on is thrown; anything else is thrown as it is (a crash, see above).
   */
  abandoned(err: unknown, partitions: readonly number[], redo: () => void): void {
    if (!(err instanceof RetryAbandoned)) throw err;
    redo();
    this.instrumentation.emit(STAGE_EVENTS.BATCH_ABANDONED, {
      stage: this.opts.name,
      partitions,
      reason: err.message,
    });
    this.opts.log.info(
      { stage: this.opts.name, partitions, err: err.message },
      'batch abandoned, will be redelivered',
    );
    const membership = groupMembershipError(err.lastError);
    if (membership) throw rejoinError(membership, err.lastError);
  }
}
