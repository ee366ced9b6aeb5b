import { randomUUID } from 'node:crypto';
import { type Admin, Kafka, logLevel, type Message } from 'kafkajs';
import type { RuntimeEnv } from '../../src/config/runtime.js';
import { loadRuntimeEnv } from '../../src/config/runtime.js';
import type { InputEvent } from '../../src/events/schema.js';
import { createMissingTopics, inputTopics, topicLayout } from '../../src/kafka/topics.js';
import { connectedProducer, publishEvents, routeEvents } from '../../src/simulate/publish.js';

export function kafkaClient(brokers: string[]): Kafka {
  // TEST_KAFKA_LOG=warn (or info, debug) shows kafkajs' own logs when a test needs explaining.
  const level = { warn: logLevel.WARN, info: logLevel.INFO, debug: logLevel.DEBUG }[
    process.env.TEST_KAFKA_LOG ?? ''
  ];
  return new Kafka({
    brokers,
    clientId: `test-${randomUUID().slice(0, 8)}`,
    logLevel: level ?? logLevel.NOTHING,
  });
}

/** A worker environment with topic names and Redis prefix unique to one test. */
export function testEnv(brokers: string[], redisUrl: string, over: Record<string, string> = {}): RuntimeEnv {
  const id = randomUUID().slice(0, 8);
  return loadRuntimeEnv({
    KAFKA_BROKERS: brokers.join(','),
    REDIS_URL: redisUrl,
    KEYGUARD_REDIS_PREFIX: `t${id}:`,
    KEYGUARD_GROUP_ID: `kg-${id}`,
    KEYGUARD_TOPIC_ORDERS: `${id}.account-events`,
    KEYGUARD_TOPIC_FILLS: `${id}.account-events`,
    KEYGUARD_TOPIC_MARKET: `${id}.market`,
    KEYGUARD_TOPIC_APIKEYS: `${id}.apikeys`,
    KEYGUARD_TOPIC_ALERTS: `${id}.alerts`,
    KEYGUARD_TOPIC_RECOMMENDATIONS: `${id}.recommendations`,
    KEYGUARD_TOPIC_DEAD_LETTER: `${id}.dead-letter`,
    KEYGUARD_TOPIC_CAMPAIGN_OBSERVATIONS: `${id}.campaign-observations`,
    KEYGUARD_TOPIC_CONFIG: `${id}.config`,
    KEYGUARD_TOPIC_WEBHOOK_RETRY: `${id}.webhooks.retry`,
    KEYGUARD_TOPIC_WEBHOOK_DEAD_LETTER: `${id}.webhooks.dead-letter`,
    KEYGUARD_WEBHOOKS_GROUP_ID: `kgw-${id}`,
    KEYGUARD_INPUT_PARTITIONS: '3',
    KEYGUARD_SESSION_TIMEOUT_MS: '6000',
    KEYGUARD_METRICS_PORT: '0',
    LOG_LEVEL: 'warn',
    ...over,
  });
}

/** The test's topics, as the worker would create them (partitions and replication from `env`). */
export async function createTopics(kafka: Kafka, env: RuntimeEnv): Promise<void> {
  const outputs = [
    env.KEYGUARD_TOPIC_ALERTS,
    env.KEYGUARD_TOPIC_RECOMMENDATIONS,
    env.KEYGUARD_TOPIC_DEAD_LETTER,
    env.KEYGUARD_TOPIC_CAMPAIGN_OBSERVATIONS,
  ];
  await createMissingTopics(kafka, [...inputTopics(env), ...outputs], topicLayout(env));
}

/** Routes contract events to their topics the way an exchange would (what `simulate --to-kafka` does). */
export const routed = routeEvents;

/** Produces a stream the way it happens: in event-time order, a chunk at a time, to every topic. */
export async function produceInOrder(
  kafka: Kafka,
  env: RuntimeEnv,
  events: readonly InputEvent[],
  chunk = 1000,
): Promise<void> {
  await publishEvents(kafka, env, events, { chunk });
}

export async function produce(
  kafka: Kafka,
  topicMessages: Map<string, Message[]>,
  chunk = 2000,
): Promise<void> {
  const producer = await connectedProducer(kafka);
  for (const [topic, messages] of topicMessages) {
    for (let i = 0; i < messages.length; i += chunk) {
      await producer.send({ topic, messages: messages.slice(i, i + chunk), acks: -1 });
    }
  }
  await producer.disconnect();
}

/** Reads a topic from the beginning until `done(values)` holds or the time runs out. */
export async function collect<T>(
  kafka: Kafka,
  topic: string,
  done: (values: T[]) => boolean,
  timeoutMs: number,
  parse: (m: Buffer) => T = (b) => JSON.parse(b.toString('utf8')) as T,
): Promise<T[]> {
  const consumer = kafka.consumer({ groupId: `collect-${randomUUID()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const values: T[] = [];
  let finish: () => void = () => {};
  const finished = new Promise<void>((r) => {
    finish = r;
  });
  await consumer.run({
    eachMessage: async ({ message }) => {
      if (message.value) values.push(parse(message.value));
      if (done(values)) finish();
    },
  });
  const timer = setTimeout(finish, timeoutMs);
  if (done(values)) finish();
  await finished;
  clearTimeout(timer);
  await consumer.disconnect();
  return values;
}

/**
 * Each partition's end offset. A partition still electing its leader (a busy machine, just after
 * the topic was created) answers "not the leader", a retriable error: asked again until `timeoutMs`.
 */
async function topicEnds(admin: Admin, topic: string, timeoutMs: number): Promise<Map<number, number>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, Number(o.high)]));
    } catch (err) {
      if (!(err as { retriable?: boolean }).retriable || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/**
 * Every record of a topic, up to the end each partition had when called (a topic the producers have
 * finished with: all of it, without guessing how many to wait for). Fails after `timeoutMs`.
 */
export async function collectAll<T>(
  kafka: Kafka,
  topic: string,
  timeoutMs: number,
  parse: (m: Buffer) => T = (b) => JSON.parse(b.toString('utf8')) as T,
): Promise<T[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await topicEnds(admin, topic, timeoutMs).finally(() => admin.disconnect());
  const next = new Map<number, number>();
  const complete = () => [...ends].every(([p, high]) => (next.get(p) ?? 0) >= high);
  const values: T[] = [];
  if (complete()) return values;
  const consumer = kafka.consumer({ groupId: `collect-${randomUUID()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let finish: (ok: boolean) => void = () => {};
  const finished = new Promise<boolean>((r) => {
    finish = r;
  });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      if (message.value) values.push(parse(message.value));
      next.set(partition, Number(message.offset) + 1);
      if (complete()) finish(true);
    },
  });
  const timer = setTimeout(() => finish(false), timeoutMs);
  const ok = await finished;
  clearTimeout(timer);
  await consumer.disconnect();
  if (!ok) throw new Error(`${topic}: not read to its end within ${timeoutMs} ms (${values.length} records)`);
  return values;
}
