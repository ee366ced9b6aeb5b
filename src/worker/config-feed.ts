/**
 * The worker's view of the config topic: every detection config version published there, read
 * from the beginning (a consumer group of its own, nothing committed) into a `ConfigTimeline`.
 *
 * A version applies from its `effectiveFrom` event time, which is at least the lead
 * (KEYGUARD_CONFIG_LEAD_MS) after it was published. The feed reads the topic to its end every
 * KEYGUARD_CONFIG_POLL_MS and remembers when it last did (`readAt`): a worker scores an event
 * only once `readAt ≥ event time − lead`, so any version in effect at that event time was
 * published before `readAt` and is already known. Every worker, and a replay with the same
 * versions, therefore scores each event with the same version. On live events this never waits
 * (the feed is at most a poll behind); on a backlog it never waits either (old event times).
 */
import { randomUUID } from 'node:crypto';
import type { Admin, Consumer, Kafka, KafkaMessage } from 'kafkajs';
import {
  ConfigTimeline,
  type ConfigVersion,
  versionFromRecord,
  versionKey,
} from '../config/config-versions.js';
import type { DetectionConfig } from '../config/detection.js';
import type { RuntimeEnv } from '../config/runtime.js';
import { ErrorCodes, KeyguardError } from '../errors.js';
import { createConfigTopic, type TopicLayout, topicLayout } from '../kafka/topics.js';
import type { Logger } from '../logger.js';
import { retryUntilDone } from '../pipeline/retry.js';

export interface ConfigFeedOptions {
  topic: string;
  groupId: string;
  leadMs: number;
  pollMs: number;
  layout: TopicLayout;
  sessionTimeoutMs: number;
}

/** The feed's settings from the environment. */
export function configFeedOptions(env: RuntimeEnv): ConfigFeedOptions {
  return {
    topic: env.KEYGUARD_TOPIC_CONFIG,
    groupId: env.KEYGUARD_GROUP_ID,
    leadMs: env.KEYGUARD_CONFIG_LEAD_MS,
    pollMs: env.KEYGUARD_CONFIG_POLL_MS,
    layout: topicLayout(env),
    sessionTimeoutMs: env.KEYGUARD_SESSION_TIMEOUT_MS,
  };
}

export type ConfigRecordResult = 'applied' | 'repeated' | 'refused';

export interface ConfigFeedReport {
  /** A record was read: applied (a new version), repeated (known), refused (invalid). */
  record(result: ConfigRecordResult): void;
  /** The version with the latest effectiveFrom, at start and whenever it changes. */
  latest(version: ConfigVersion): void;
  /** The topic was read to its end as of `at` (epoch ms). */
  read(at: number): void;
}

export class ConfigFeed {
  readonly timeline: ConfigTimeline;
  /** Wall time at which the topic had been read to its end (every record published before it is known). */
  private readAt = Number.NEGATIVE_INFINITY;
  private readonly positions = new Map<number, bigint>();
  /** Records refused so far (offset and reason), newest last, at most 100. */
  readonly refused: Array<{ offset: string; reason: string }> = [];
  /** The comment of each version read, by `versionKey`. */
  readonly comments = new Map<string, string>();
  private consumer?: Consumer;
  private admin?: Admin;
  private polling?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly kafka: Kafka,
    base: DetectionConfig,
    private readonly opts: ConfigFeedOptions,
    private readonly log: Logger,
    private readonly report?: ConfigFeedReport,
  ) {
    this.timeline = new ConfigTimeline(base);
  }

  /** Creates the topic if needed and reads it to its end before returning. */
  async start(): Promise<void> {
    const { topic } = this.opts;
    await createConfigTopic(this.kafka, topic, this.opts.layout);
    this.admin = this.kafka.admin();
    await this.admin.connect();
    this.consumer = this.kafka.consumer({
      groupId: `${this.opts.groupId}-config-${randomUUID()}`,
      sessionTimeout: this.opts.sessionTimeoutMs,
      maxWaitTimeInMs: Math.min(500, this.opts.pollMs),
    });
    const consumer = this.consumer;
    // A topic another worker created a moment ago may not be known to every broker yet: retry.
    await retryUntilDone(
      async () => {
        await consumer.connect();
        await consumer.subscribe({ topic, fromBeginning: true });
      },
      {
        minDelayMs: 200,
        maxDelayMs: 5000,
        shouldContinue: () => !this.stopped,
        onRetry: (err, attempt) =>
          this.log.warn(
            { err: (err as Error).message, attempt, topic },
            'cannot subscribe to the config topic yet, retrying',
          ),
      },
    );
    this.report?.latest(this.timeline.latest());
    await this.consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        this.read(message);
        this.positions.set(partition, BigInt(message.offset) + 1n);
      },
    });
    while (!(await this.readToEnd())) {
      if (this.stopped) return;
      await new Promise((r) => setTimeout(r, this.opts.pollMs));
    }
    this.polling = this.poll();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.polling;
    await this.consumer?.disconnect();
    await this.admin?.disconnect();
  }

  /** Milliseconds since the topic was last read to its end. */
  readAgeMs(now = Date.now()): number {
    return now - this.readAt;
  }

  /** Whether every version that can be in effect at `eventTime` is known (no wait needed). */
  knowsVersionsAt(eventTime: number): boolean {
    return this.readAt >= eventTime - this.opts.leadMs;
  }

  /**
   * Resolves once every version that can be in effect at `eventTime` is known; throws after
   * `timeoutMs` (the caller retries, pausing the partition: a config topic that cannot be read
   * stops scoring rather than scoring with a version another worker would not use).
   */
  async waitFor(eventTime: number, timeoutMs: number): Promise<void> {
    const needed = eventTime - this.opts.leadMs;
    const deadline = Date.now() + timeoutMs;
    while (!this.knowsVersionsAt(eventTime)) {
      if (this.stopped || Date.now() > deadline) {
        throw new KeyguardError(
          ErrorCodes.CONFIG_STALE,
          `config topic ${this.opts.topic} not read up to ${new Date(needed).toISOString()} (last read to its end ${Math.round(this.readAgeMs() / 1000)} s ago)`,
          { retriable: true },
        );
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** One record: a version added to the timeline, or refused with the key named (the running versions stay). */
  private read(message: KafkaMessage): void {
    const where = { topic: this.opts.topic, offset: message.offset };
    try {
      const raw = JSON.parse(message.value?.toString('utf8') ?? '');
      const v = versionFromRecord(raw, this.timeline.base);
      // When the broker appended it (the topic is LogAppendTime): from then on a read to the end sees it.
      const published = Number(message.timestamp);
      if (v.effectiveFrom < published + this.opts.leadMs) {
        throw new KeyguardError(
          ErrorCodes.CONFIG_INVALID,
          `effectiveFrom: ${new Date(v.effectiveFrom).toISOString()} is less than KEYGUARD_CONFIG_LEAD_MS (${this.opts.leadMs} ms) after the record was published (${new Date(published).toISOString()}): workers could not all apply it at the same point`,
        );
      }
      const added = this.timeline.add(v);
      if (added && typeof raw.comment === 'string') this.comments.set(versionKey(v), raw.comment);
      if (added)
        this.log.info(
          { ...where, version: v.version, effectiveFrom: new Date(v.effectiveFrom).toISOString() },
          'detection config version read; it applies to events from its effectiveFrom',
        );
      this.report?.record(added ? 'applied' : 'repeated');
      if (added) this.report?.latest(this.timeline.latest());
    } catch (err) {
      this.log.error(
        { ...where, err: (err as Error).message, running: this.timeline.latest().version },
        'detection config record refused; the running versions stay',
      );
      this.report?.record('refused');
      this.refused.push({ offset: message.offset, reason: (err as Error).message });
      if (this.refused.length > 100) this.refused.shift();
    }
  }

  private async poll(): Promise<void> {
    while (!this.stopped) {
      await new Promise((r) => setTimeout(r, this.opts.pollMs));
      if (!this.stopped) await this.readToEnd();
    }
  }

  /** Reads the topic up to the end it has now; true when done (readAt moves to when it started). */
  private async readToEnd(): Promise<boolean> {
    const startedAt = Date.now();
    try {
      const ends = await this.admin!.fetchTopicOffsets(this.opts.topic);
      const deadline = startedAt + 5000;
      const behind = () =>
        ends.some((p) => (this.positions.get(p.partition) ?? BigInt(p.low)) < BigInt(p.high));
      while (behind()) {
        if (this.stopped || Date.now() > deadline) return false;
        await new Promise((r) => setTimeout(r, 10));
      }
      this.readAt = Math.max(this.readAt, startedAt);
      this.report?.read(this.readAt);
      return true;
    } catch (err) {
      this.log.warn(
        { err: (err as Error).message, topic: this.opts.topic },
        'could not read the config topic',
      );
      return false;
    }
  }
}
