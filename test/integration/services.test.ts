import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, inject, it } from 'vitest';

describe('services harness', () => {
  it('round-trips a message through the real Kafka broker with a consumer group', async () => {
    const kafka = new Kafka({
      brokers: inject('kafkaBrokers'),
      clientId: 'smoke',
      logLevel: logLevel.NOTHING,
    });
    const topic = `smoke-${randomUUID()}`;
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    const cluster = await admin.describeCluster();
    expect(cluster.brokers.length).toBe(1);
    await admin.disconnect();

    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: [
        { key: 'acct-1', value: 'hello' },
        { key: 'acct-2', value: 'world' },
      ],
    });
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: `smoke-${randomUUID()}` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only got ${received.join(',')}`)), 30_000);
      consumer
        .run({
          eachMessage: async ({ message }) => {
            received.push(`${message.key}=${message.value}`);
            if (received.length === 2) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();
    expect(received.sort()).toEqual(['acct-1=hello', 'acct-2=world']);
    console.log(`[services] talked to Apache Kafka ${inject('kafkaVersion')}`);
  });

  it('evaluates a Lua script on the real Redis', async () => {
    const redis = new Redis(inject('redisUrl'));
    const key = `smoke:{${randomUUID()}}`;
    const result = await redis.eval(
      "redis.call('HSET', KEYS[1], 'n', ARGV[1]); return redis.call('HINCRBY', KEYS[1], 'n', 2)",
      1,
      key,
      '40',
    );
    expect(result).toBe(42);
    expect(await redis.hget(key, 'n')).toBe('42');
    await redis.quit();
  });
});
