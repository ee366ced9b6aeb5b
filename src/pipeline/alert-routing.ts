/**
 * Where alerts go: every alert to the alerts topic; those recommending an automatic action
 * (`revoke_key` and above) also to the recommendations topic, which the webhook dispatcher reads.
 * Both keyed by account, so one account's records stay in order.
 */
import type { Message } from 'kafkajs';
import { alertRecordJson, schemaHeader } from '../events/records.js';
import { type Alert, RECOMMENDATION_LEVEL } from '../events/schema.js';
import type { TopicMessages } from '../kafka/acked-producer.js';

export interface AlertTopics {
  alerts: string;
  recommendations: string;
}

/** An alert as a Kafka record: JSON with its schema version, the schema header, keyed by account (or `key`). */
export function alertMessage(a: Alert, key: string = a.accountId): Message {
  return { key, value: alertRecordJson(a), headers: schemaHeader('alert') };
}

export function alertRecords(alerts: readonly Alert[], topics: AlertTopics): TopicMessages[] {
  const all: Message[] = [];
  const actions: Message[] = [];
  for (const a of alerts) {
    const m = alertMessage(a);
    all.push(m);
    if (RECOMMENDATION_LEVEL[a.recommendation] >= RECOMMENDATION_LEVEL.revoke_key) actions.push(m);
  }
  return [
    { topic: topics.alerts, messages: all },
    { topic: topics.recommendations, messages: actions },
  ];
}
