import type { Admin, Kafka } from 'kafkajs';
import type { RuntimeEnv } from '../config/runtime.js';
import { ErrorCodes, KeyguardError } from '../errors.js';

/** How keyguard creates the topics it needs: partitions, and copies on how many brokers. */
export interface TopicLayout {
  partitions: number;
  /** Brokers holding a copy of every partition: 1 for a single broker, 3 in production. */
  replicationFactor: number;
  /**
   * Copies an acks=all write needs before it is acknowledged: with 3 copies and 2 here, one broker
   * can be lost without losing an acknowledged record or stopping writes.
   */
  minInsyncReplicas: number;
}

export function topicLayout(env: RuntimeEnv): TopicLayout {
  const replicationFactor = env.KEYGUARD_REPLICATION_FACTOR;
  return {
    partitions: env.KEYGUARD_INPUT_PARTITIONS,
    replicationFactor,
    minInsyncReplicas: env.KEYGUARD_MIN_INSYNC_REPLICAS ?? (replicationFactor >= 3 ? 2 : 1),
  };
}

/** The topics keyguard's input arrives on: orders, fills (often the same topic), market, API keys. */
export function inputTopics(env: RuntimeEnv): string[] {
  return [
    ...new Set([
      env.KEYGUARD_TOPIC_ORDERS,
      env.KEYGUARD_TOPIC_FILLS,
      env.KEYGUARD_TOPIC_MARKET,
      env.KEYGUARD_TOPIC_APIKEYS,
    ]),
  ];
}

/** Creates the topics that do not exist yet (another process creating one first is fine). */
export async function createMissingTopics(
  kafka: Kafka,
  topics: readonly string[],
  layout: TopicLayout,
  /** Topic settings beyond min.insync.replicas (e.g. `cleanup.policy: compact`). */
  settings: Record<string, string> = {},
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const wanted = [...new Set(topics)];
    const missing = wanted.filter((t) => !existing.has(t));
    if (missing.length > 0) await create(admin, missing, layout, settings);
    // A topic another process created a moment ago may not be known to every broker yet: wait for
    // leaders of all of them (the ones created here with all their partitions).
    await waitForLeaders(admin, new Map(wanted.map((t) => [t, missing.includes(t) ? layout.partitions : 1])));
  } finally {
    await admin.disconnect();
  }
}

async function create(
  admin: Admin,
  missing: string[],
  layout: TopicLayout,
  settings: Record<string, string>,
): Promise<void> {
  await admin
    .createTopics({
      // kafkajs' own wait fails on a cluster whose brokers learn of a new topic one after the
      // other ("does not host this topic-partition"): waitForLeaders below tolerates that.
      waitForLeaders: false,
      topics: missing.map((topic) => ({
        topic,
        numPartitions: layout.partitions,
        replicationFactor: layout.replicationFactor,
        configEntries: [
          { name: 'min.insync.replicas', value: String(layout.minInsyncReplicas) },
          ...Object.entries(settings).map(([name, value]) => ({ name, value })),
        ],
      })),
    })
    .catch((err: Error) => {
      if (!/already exists/i.test(err.message)) throw err;
    });
}

/**
 * Until every partition of the topics has a leader (and each has at least the given number of
 * partitions), for at most 60 s: a fresh cluster, or a topic just created, may take seconds.
 */
async function waitForLeaders(admin: Admin, minPartitions: Map<string, number>): Promise<void> {
  const topics = [...minPartitions.keys()];
  const deadline = Date.now() + 60_000;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const meta = await admin.fetchTopicMetadata({ topics });
      const led = meta.topics.every(
        (t) =>
          t.partitions.length >= (minPartitions.get(t.name) ?? 1) && t.partitions.every((p) => p.leader >= 0),
      );
      if (led) return;
      last = 'partitions without a leader';
    } catch (err) {
      if (!(err as { retriable?: boolean }).retriable) throw err;
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new KeyguardError(
    ErrorCodes.TOPIC_LAYOUT,
    `topics ${topics.join(', ')} have no leader for every partition after 60 s: ${last}`,
    { retriable: true },
  );
}

/**
 * The config topic: one partition (one order of versions), compacted (every version kept, by its
 * key), timestamped by the broker when it appends a record (LogAppendTime): the workers check a
 * version's lead against when it really became readable, not against the publisher's clock.
 */
export function createConfigTopic(kafka: Kafka, topic: string, layout: TopicLayout): Promise<void> {
  return createMissingTopics(
    kafka,
    [topic],
    { ...layout, partitions: 1 },
    { 'cleanup.policy': 'compact', 'message.timestamp.type': 'LogAppendTime' },
  );
}
