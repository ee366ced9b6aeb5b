import { describe, expect, inject, it } from 'vitest';
import type { DeadLetter } from '../../src/pipeline/dead-letter.js';
import { order } from '../helpers/events.js';
import { collect, createTopics, kafkaClient, produce, testEnv } from '../helpers/kafka.js';
import { WorkerProcess, waitUntilConsumed } from '../helpers/worker-process.js';

describe('secrets', () => {
  it('never appear in the logs (at debug level) or the dead-letter topic', async () => {
    const brokers = inject('kafkaBrokers');
    const env = testEnv(brokers, inject('redisUrl'), { LOG_LEVEL: 'debug' });
    const kafka = kafkaClient(brokers);
    await createTopics(kafka, env);
    const secrets = {
      apiSecret: 'SECRET-AAA',
      passphrase: 'SECRET-BBB',
      signature: 'SECRET-CCC',
      authorization: 'Bearer SECRET-DDD',
    };
    const valid = Array.from({ length: 5 }, (_, i) =>
      JSON.stringify({
        ...order({ id: `s${i}`, accountId: 'acct-s', timestamp: 1_700_000_000_000 + i }),
        ...secrets,
      }),
    );
    const invalid = JSON.stringify({
      ...order({ accountId: 'acct-s' }),
      amount: 'all of it',
      credentials: secrets,
    });
    const messages = [...valid, invalid].map((value) => ({ key: 'acct-s', value }));
    const worker = new WorkerProcess(env);
    worker.start();
    try {
      await produce(kafka, new Map([[env.KEYGUARD_TOPIC_ORDERS, messages]]));
      await waitUntilConsumed(kafka, env, 60_000);
      const dead = await collect<DeadLetter>(
        kafka,
        env.KEYGUARD_TOPIC_DEAD_LETTER,
        (v) => v.length >= 1,
        20_000,
      );
      expect(dead).toHaveLength(1);
      expect(dead[0]!.redacted).toBe(true);
      expect(Buffer.from(dead[0]!.originalBase64, 'base64').toString()).not.toMatch(/SECRET-/);
    } finally {
      await worker.stop();
    }
    expect(worker.output.length).toBeGreaterThan(1000); // debug logging did happen
    expect(worker.output).not.toMatch(/SECRET-/);
  }, 120_000);
});
