/**
 * Retry state survives the dispatcher: a dispatcher killed (SIGKILL) while a delivery waits for its
 * retry, then started again, still delivers it. The dispatcher runs as its own process here.
 */
import { afterEach, expect, inject, it } from 'vitest';
import { kafkaClient, testEnv } from '../helpers/kafka.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';
import {
  newSecret,
  publishRecommendations,
  recommendation,
  writeWebhookConfig,
} from '../helpers/webhooks.js';
import { WorkerProcess } from '../helpers/worker-process.js';

const brokers = inject('kafkaBrokers');
const redisUrl = inject('redisUrl');
const kafka = kafkaClient(brokers);
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function retryRecords(topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic).catch(() => []);
    return offsets.reduce((s, o) => s + Number(o.high), 0);
  } finally {
    await admin.disconnect();
  }
}

it('a dispatcher killed during the backoff delivers after its restart (secrets from the environment)', async () => {
  const env = testEnv(brokers, redisUrl, { LOG_LEVEL: 'info' });
  const secret = newSecret();
  const receiver = await new WebhookReceiver(secret, (_id, attempt) => (attempt === 1 ? 503 : 200)).start();
  cleanups.push(() => receiver.close());
  const config = writeWebhookConfig({
    endpoints: [
      { id: 'platform', url: receiver.url, secretsEnv: 'KG_TEST_WEBHOOK_SECRETS', timeoutMs: 2000 },
    ],
    // The first retry waits 2–4 s: long enough to kill the dispatcher in between.
    retry: { initialDelayMs: 4000, maxDelayMs: 8000, maxAttempts: 5, giveUpAfterMs: 120_000 },
  });
  const extra = { KEYGUARD_WEBHOOKS_CONFIG: config, KG_TEST_WEBHOOK_SECRETS: secret };
  const first = new WorkerProcess(env, 'webhooks', extra);
  first.start();
  cleanups.push(() => first.stop());
  const rec = recommendation();
  await publishRecommendations(kafka, env.KEYGUARD_TOPIC_RECOMMENDATIONS, [rec]);
  await receiver.waitFor(() => receiver.requests.length === 1, 30_000, 'the first attempt');
  const deadline = Date.now() + 10_000;
  while ((await retryRecords(env.KEYGUARD_TOPIC_WEBHOOK_RETRY)) < 1) {
    if (Date.now() > deadline) throw new Error(`no retry record written\n${first.output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  // Let the recommendation's offset be committed, then kill the dispatcher mid-backoff.
  await new Promise((r) => setTimeout(r, 500));
  expect(receiver.requests).toHaveLength(1);
  first.kill('SIGKILL');
  await first.exit;
  const killedAt = Date.now();

  const second = new WorkerProcess(env, 'webhooks', extra);
  second.start();
  cleanups.push(() => second.stop());
  await receiver.waitFor(() => receiver.accepted.has(rec.alertId), 30_000, 'the delivery after the restart');
  expect(receiver.accepted.size).toBe(1);
  expect(receiver.requests[1]!.at).toBeGreaterThan(killedAt);
  expect(receiver.requests.every((r) => r.verified)).toBe(true);
  // The restarted dispatcher did not redo the first attempt from the recommendations topic.
  expect(receiver.requests).toHaveLength(2);
  expect(first.output).toMatch(/webhook attempt failed, will retry/);
  expect(first.output).not.toContain(secret.slice(6));
  await second.stop();
  expect((await second.exit)?.code).toBe(0);
  expect(second.output).toMatch(/webhook delivered/);
  expect(second.output).not.toContain(secret.slice(6));
});
