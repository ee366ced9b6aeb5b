/**
 * Publishes a stream of contract events to keyguard's input topics the way an exchange would:
 * account events keyed by account (one account's events stay in order on one partition), market
 * events keyed by venue and symbol; in event-time order, in bounded sends, optionally paced.
 */
import type { Kafka, Message, Producer } from 'kafkajs';
import type { RuntimeEnv } from '../config/runtime.js';
import { type InputEvent, isMarketEvent } from '../events/schema.js';
import { createMissingTopics, inputTopics, topicLayout } from '../kafka/topics.js';

/** The topic and record of each event, grouped by topic (order kept within each). */
export function routeEvents(env: RuntimeEnv, events: readonly InputEvent[]): Map<string, Message[]> {
  const out = new Map<string, Message[]>();
  const add = (topic: string, m: Message) => {
    const list = out.get(topic);
    if (list) list.push(m);
    else out.set(topic, [m]);
  };
  for (const e of events) {
    const value = JSON.stringify(e);
    if (isMarketEvent(e)) add(env.KEYGUARD_TOPIC_MARKET, { key: `${e.exchange}:${e.symbol}`, value });
    else if (e.kind === 'order') add(env.KEYGUARD_TOPIC_ORDERS, { key: e.accountId, value });
    else if (e.kind === 'fill') add(env.KEYGUARD_TOPIC_FILLS, { key: e.accountId, value });
    else add(env.KEYGUARD_TOPIC_APIKEYS, { key: e.accountId, value });
  }
  return out;
}

export interface PublishOptions {
  /** Events per second at most (undefined: as fast as the broker takes them). */
  rate?: number;
  /** Events per send: with contract events (≤ 64 KiB, ~300 bytes typically) well under a broker's 1 MiB. */
  chunk?: number;
}

/**
 * An idempotent producer (a retried send must not duplicate records), connected. kafkajs asks the
 * broker the metadata names as controller for a producer id and gives up at once when that broker
 * was just killed (until the cluster fences it, seconds): connecting is tried again, for at most 10 s.
 */
export async function connectedProducer(kafka: Kafka): Promise<Producer> {
  for (let attempt = 1; ; attempt++) {
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    try {
      await producer.connect();
      return producer;
    } catch (err) {
      await producer.disconnect().catch(() => {});
      if (attempt >= 20 || !(err as { retriable?: boolean }).retriable) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** Creates the input topics if needed, then publishes `events`; returns how many were acknowledged. */
export async function publishEvents(
  kafka: Kafka,
  env: RuntimeEnv,
  events: readonly InputEvent[],
  opts: PublishOptions = {},
): Promise<number> {
  await createMissingTopics(kafka, inputTopics(env), topicLayout(env));
  const producer = await connectedProducer(kafka);
  const chunk = opts.chunk ?? 500;
  const started = performance.now();
  let sent = 0;
  try {
    for (let i = 0; i < events.length; i += chunk) {
      const part = events.slice(i, i + chunk);
      const topicMessages = [...routeEvents(env, part)].map(([topic, messages]) => ({ topic, messages }));
      // The market's records first, acknowledged, then the accounts': one send would reach each
      // partition's leader on its own, and an account batch could be read before the prints of its
      // own minutes are on the market topic (a worker waits for the market as published, never
      // for prints not yet sent).
      const market = topicMessages.filter((t) => t.topic === env.KEYGUARD_TOPIC_MARKET);
      const accounts = topicMessages.filter((t) => t.topic !== env.KEYGUARD_TOPIC_MARKET);
      if (market.length > 0) await producer.sendBatch({ topicMessages: market, acks: -1 });
      if (accounts.length > 0) await producer.sendBatch({ topicMessages: accounts, acks: -1 });
      sent += part.length;
      if (opts.rate) {
        const due = started + (sent / opts.rate) * 1000;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    }
  } finally {
    await producer.disconnect();
  }
  return sent;
}
