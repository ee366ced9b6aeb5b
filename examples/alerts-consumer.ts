/**
 * A risk team's consumer of `keyguard.alerts`, as a starting point: reads the alerts, checks the
 * schema version, deduplicates on `alertId` (a replay, a redelivered batch or a restarted worker
 * publishes the same alert again, with the same id), and acts on the recommendation.
 *
 *   KAFKA_BROKERS=127.0.0.1:9092 npx tsx examples/alerts-consumer.ts
 *
 * Records are `schemas/alert.schema.json`; the `keyguard-schema` header says `keyguard.alert/1`.
 * Within version 1 only optional fields are added, so ignore fields you do not know. kafkajs
 * commits an offset after `eachMessage` returns: an action that throws is retried, one that
 * succeeded may be seen again after a crash — the deduplication (keep it durable in production,
 * e.g. in your case database) makes that harmless.
 */
import { Kafka, logLevel } from 'kafkajs';
import { RECORD_SCHEMA_VERSION, SCHEMA_HEADER } from '../src/events/records.js';
import { type Alert, alertSchema } from '../src/events/schema.js';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const topic = process.env.KEYGUARD_TOPIC_ALERTS ?? 'keyguard.alerts';

/** The ids acted on, oldest first, at most `max` of them (in memory here: durable in production). */
class SeenAlerts {
  private readonly ids = new Set<string>();
  constructor(private readonly max = 100_000) {}
  firstTime(id: string): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    if (this.ids.size > this.max) this.ids.delete(this.ids.values().next().value as string);
    return true;
  }
}

// Replace these with your exchange's own calls.
async function revokeKey(alert: Alert): Promise<void> {
  console.log(
    `REVOKE key ${alert.apiKeyId ?? '(all keys)'} of ${alert.exchange}:${alert.accountId}: ${summary(alert)}`,
  );
}
async function freezeAccount(alert: Alert): Promise<void> {
  console.log(
    `FREEZE ${alert.exchange}:${alert.accountId} (campaign ${alert.campaignId ?? '-'}): ${summary(alert)}`,
  );
}
async function queueForReview(alert: Alert): Promise<void> {
  console.log(
    `review ${alert.exchange}:${alert.accountId} (${alert.severity}, ${alert.valueAtRiskUsd ?? 0} USD at risk)`,
  );
}

function summary(alert: Alert): string {
  return alert.signals.map((s) => `${s.detector} ${s.score.toFixed(2)}`).join(', ');
}

const kafka = new Kafka({ brokers, clientId: 'alerts-consumer-example', logLevel: logLevel.WARN });
const consumer = kafka.consumer({ groupId: 'risk-team-alerts-example' });
const seen = new SeenAlerts();

await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
await consumer.run({
  eachMessage: async ({ message, partition }) => {
    const header = message.headers?.[SCHEMA_HEADER]?.toString();
    if (header && header !== `keyguard.alert/${RECORD_SCHEMA_VERSION}`) {
      console.error(
        `partition ${partition} offset ${message.offset}: ${header} is a version this consumer does not know`,
      );
      return;
    }
    const parsed = alertSchema.safeParse(JSON.parse(message.value?.toString('utf8') ?? 'null'));
    if (!parsed.success) {
      console.error(`partition ${partition} offset ${message.offset}: not an alert: ${parsed.error.message}`);
      return;
    }
    const alert = parsed.data;
    if (!seen.firstTime(alert.alertId)) return;
    if (alert.recommendation === 'revoke_key') await revokeKey(alert);
    else if (alert.recommendation === 'freeze_account') await freezeAccount(alert);
    else if (alert.recommendation === 'review') await queueForReview(alert);
  },
});

for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    void consumer.disconnect().then(() => process.exit(0));
  });
