import { hostname } from 'node:os';
import { Kafka, logLevel } from 'kafkajs';
import type { RuntimeEnv } from '../config/runtime.js';
import type { Logger } from '../logger.js';

const KAFKA_LOG_LEVEL: Record<string, logLevel> = {
  error: logLevel.ERROR,
  warn: logLevel.WARN,
  info: logLevel.INFO,
  debug: logLevel.DEBUG,
};

/** The process's Kafka client, logging through pino. */
export function kafkaConnection(brokers: string, env: RuntimeEnv, log: Logger): Kafka {
  const kafkaLog = log.child({ module: 'kafkajs' });
  return new Kafka({
    clientId: `keyguard-${hostname()}-${process.pid}`,
    brokers: brokers.split(','),
    logLevel: KAFKA_LOG_LEVEL[env.LOG_LEVEL] ?? logLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }) => {
        const { message, ...rest } = entry;
        if (level <= logLevel.ERROR) kafkaLog.error(rest, message);
        else if (level <= logLevel.WARN) kafkaLog.warn(rest, message);
        else kafkaLog.debug(rest, message);
      },
    retry: { retries: 10, initialRetryTime: 200, maxRetryTime: 5000 },
  });
}

/** Creates the topics that do not exist yet (another process creating one first is fine). */
export async function createMissingTopics(
  kafka: Kafka,
  topics: readonly string[],
  partitions: number,
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = [...new Set(topics)].filter((t) => !existing.has(t));
    if (missing.length === 0) return;
    await admin
      .createTopics({
        waitForLeaders: true,
        topics: missing.map((topic) => ({ topic, numPartitions: partitions })),
      })
      .catch((err: Error) => {
        if (!/already exists/i.test(err.message)) throw err;
      });
  } finally {
    await admin.disconnect();
  }
}
