/**
 * `npm run bench:webhooks`: the time from a recommendation being published to Kafka to its webhook
 * being received and verified by a platform's receiver, over a few hundred deliveries. The
 * dispatcher runs as its own process (`keyguard webhooks`) on a real Kafka broker and Redis; the
 * receiver verifies every signature with the `standardwebhooks` library. A second phase adds an
 * endpoint that never answers, to show it does not slow the healthy one. Figures only.
 *
 *   npm run bench:webhooks -- [--count N] [--rate PER_SECOND]
 */
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import type { RuntimeEnv } from '../src/config/runtime.js';
import { testEnv } from '../test/helpers/kafka.js';
import { WebhookReceiver } from '../test/helpers/webhook-receiver.js';
import { newSecret, recommendation, writeWebhookConfig } from '../test/helpers/webhooks.js';
import { WorkerProcess, waitForMembers } from '../test/helpers/worker-process.js';
import { startServices } from '../test/services/harness.js';

const { values: args } = parseArgs({
  options: { count: { type: 'string', default: '400' }, rate: { type: 'string', default: '50' } },
});
const count = Number(args.count);
const rate = Number(args.rate);

const services = await startServices();
const kafka = new Kafka({ brokers: services.kafkaBrokers, clientId: 'bench', logLevel: logLevel.NOTHING });
console.log(
  `services: Apache Kafka ${services.kafkaVersion}, Redis ${services.redisUrl} (${services.source})`,
);

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function phase(name: string, withHangingEndpoint: boolean): Promise<void> {
  const env: RuntimeEnv = testEnv(services.kafkaBrokers, services.redisUrl, { LOG_LEVEL: 'warn' });
  const secret = newSecret();
  const healthy = await new WebhookReceiver(secret).start();
  const hanging = await new WebhookReceiver(secret, () => 'hang').start();
  const endpoints = [{ id: 'healthy', url: healthy.url, secrets: [secret], timeoutMs: 5000 }];
  if (withHangingEndpoint) {
    endpoints.push({ id: 'hanging', url: hanging.url, secrets: [secret], timeoutMs: 5000 });
  }
  const config = writeWebhookConfig({ endpoints, breaker: { maxActions: 1_000_000 } });
  const dispatcher = new WorkerProcess(env, 'webhooks', { KEYGUARD_WEBHOOKS_CONFIG: config });
  dispatcher.start();
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  // Warm-up: the group join and the first connection are not what is measured.
  const warm = recommendation({ timestamp: Date.now() });
  await producer.send({
    topic: env.KEYGUARD_TOPIC_RECOMMENDATIONS,
    acks: -1,
    messages: [{ value: JSON.stringify(warm) }],
  });
  await waitForMembers(kafka, env.KEYGUARD_WEBHOOKS_GROUP_ID, 1);
  await healthy.waitFor(() => healthy.accepted.size === 1, 60_000, 'the warm-up delivery');

  const publishedAt = new Map<string, number>();
  const started = Date.now();
  for (let i = 0; i < count; i++) {
    const due = started + (i * 1000) / rate;
    if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    const rec = recommendation({ timestamp: Date.now() });
    publishedAt.set(rec.alertId, Date.now());
    await producer.send({
      topic: env.KEYGUARD_TOPIC_RECOMMENDATIONS,
      acks: -1,
      messages: [{ key: rec.accountId, value: JSON.stringify(rec) }],
    });
  }
  await healthy.waitFor(() => healthy.accepted.size === count + 1, 120_000, 'every delivery');
  const latencies = healthy.requests
    .filter((r) => publishedAt.has(r.id) && r.verified)
    .map((r) => r.at - (publishedAt.get(r.id) ?? r.at))
    .sort((a, b) => a - b);
  const unverified = healthy.requests.filter((r) => !r.verified).length;
  console.log(
    `${name}: ${latencies.length} deliveries at ${rate}/s, publish → received: p50 ${pct(latencies, 50)} ms, ` +
      `p90 ${pct(latencies, 90)} ms, p99 ${pct(latencies, 99)} ms, max ${latencies.at(-1)} ms; ` +
      `duplicates ${healthy.requests.length - healthy.accepted.size}, unverified ${unverified}` +
      (withHangingEndpoint ? `; hanging endpoint holds ${hanging.openRequests} requests open` : ''),
  );
  await producer.disconnect();
  await dispatcher.stop();
  await healthy.close();
  await hanging.close();
}

try {
  await phase('one endpoint', false);
  await phase('plus a hanging endpoint', true);
} finally {
  await services.stop();
}
