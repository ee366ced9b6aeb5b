/**
 * Publishes one poll's events so that a crash at any point can be finished without duplicates:
 * the events of a key go to one partition per topic (keyed by account), the offset there is
 * noted before publishing, and every record carries the poll's batch id in a header. After a
 * crash, the partition is read from the noted offset: a batch found there was published.
 */
import { randomUUID } from 'node:crypto';
import { type Admin, type Kafka, Partitioners, type Producer } from 'kafkajs';
import type { RuntimeEnv } from '../config/runtime.js';
import type { AccountEvent } from '../events/schema.js';
import { retryUntilDone } from '../pipeline/retry.js';
import type { PollTarget } from './cursor-store.js';

export const BATCH_HEADER = 'keyguard-collect-batch';

export interface PollPublisher {
  /** Where the events will go, and the offsets there now. */
  plan(events: readonly AccountEvent[]): Promise<PollTarget[]>;
  publish(batchId: string, targets: readonly PollTarget[]): Promise<void>;
  /** Whether the batch reached the target; undefined when that could not be told (try later). */
  landed(batchId: string, target: PollTarget): Promise<boolean | undefined>;
}

export class KafkaPollPublisher implements PollPublisher {
  private readonly partitioner = Partitioners.DefaultPartitioner();
  private admin?: Admin;

  constructor(
    private readonly kafka: Kafka,
    private readonly producer: Producer,
    private readonly env: RuntimeEnv,
    private readonly isStopped: () => boolean,
    private readonly verifyTimeoutMs = 20_000,
  ) {}

  private topicFor(e: AccountEvent): string {
    return e.kind === 'order' ? this.env.KEYGUARD_TOPIC_ORDERS : this.env.KEYGUARD_TOPIC_FILLS;
  }

  /** One admin connection for the publisher's lifetime (a poll with events asks for offsets). */
  private async connectedAdmin(): Promise<Admin> {
    if (!this.admin) {
      const admin = this.kafka.admin();
      await admin.connect();
      this.admin = admin;
    }
    return this.admin;
  }

  async close(): Promise<void> {
    await this.admin?.disconnect();
    this.admin = undefined;
  }

  async plan(events: readonly AccountEvent[]): Promise<PollTarget[]> {
    const byTopic = new Map<string, AccountEvent[]>();
    for (const e of events) byTopic.set(this.topicFor(e), [...(byTopic.get(this.topicFor(e)) ?? []), e]);
    const admin = await this.connectedAdmin();
    const targets: PollTarget[] = [];
    for (const [topic, list] of byTopic) {
      const meta = await admin.fetchTopicMetadata({ topics: [topic] });
      // One key per collector key (the account): every event lands on one partition of the topic.
      const partition = this.partitioner({
        topic,
        partitionMetadata: meta.topics[0]!.partitions,
        message: { key: list[0]!.accountId, value: null },
      });
      const offsets = await admin.fetchTopicOffsets(topic);
      const fromOffset = offsets.find((o) => o.partition === partition)?.high ?? '0';
      targets.push({ topic, partition, fromOffset, events: list });
    }
    return targets;
  }

  async publish(batchId: string, targets: readonly PollTarget[]): Promise<void> {
    await retryUntilDone(
      () =>
        this.producer.sendBatch({
          acks: -1,
          topicMessages: targets.map((t) => ({
            topic: t.topic,
            messages: t.events.map((e) => ({
              key: e.accountId,
              partition: t.partition,
              value: JSON.stringify(e),
              headers: { [BATCH_HEADER]: batchId },
            })),
          })),
        }),
      { minDelayMs: 200, maxDelayMs: 5000, shouldContinue: () => !this.isStopped() },
    );
  }

  async landed(batchId: string, t: PollTarget): Promise<boolean | undefined> {
    const offsets = await (await this.connectedAdmin()).fetchTopicOffsets(t.topic);
    const high = BigInt(offsets.find((o) => o.partition === t.partition)?.high ?? '0');
    if (high <= BigInt(t.fromOffset)) return false;
    const consumer = this.kafka.consumer({
      groupId: `keyguard-collect-verify-${randomUUID()}`,
      maxWaitTimeInMs: 100,
    });
    let result: boolean | undefined;
    let done: () => void = () => {};
    const finished = new Promise<void>((r) => {
      done = r;
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topic: t.topic, fromBeginning: false });
      consumer.on(consumer.events.GROUP_JOIN, () => {
        try {
          consumer.seek({ topic: t.topic, partition: t.partition, offset: t.fromOffset });
        } catch {
          // joined again before running: the next join seeks
        }
      });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          if (batch.partition !== t.partition || result !== undefined) return;
          for (const m of batch.messages) {
            if (BigInt(m.offset) < BigInt(t.fromOffset)) continue;
            if (m.headers?.[BATCH_HEADER]?.toString() === batchId) {
              result = true;
              return done();
            }
          }
          if (BigInt(batch.lastOffset()) + 1n >= high) {
            result = false;
            done();
          }
        },
      });
      const timer = setTimeout(done, this.verifyTimeoutMs);
      await finished;
      clearTimeout(timer);
      return result;
    } finally {
      await consumer.disconnect();
    }
  }
}
