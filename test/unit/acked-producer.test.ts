import { describe, expect, it } from 'vitest';
import { messageBytes, needsNewProducer, splitBySize } from '../../src/kafka/acked-producer.js';

const msg = (key: string, bytes: number) => ({ key, value: 'v'.repeat(bytes) });

describe('acked producer: publishes the broker accepts', () => {
  it('cuts a publish into sends under the byte budget, keeping each topic in order', () => {
    const alerts = Array.from({ length: 30 }, (_, i) => msg(`a${i}`, 1000));
    const dead = Array.from({ length: 10 }, (_, i) => msg('same-key', 10_000 + i));
    const sends = splitBySize(
      [
        { topic: 'alerts', messages: alerts },
        { topic: 'dead', messages: dead },
        { topic: 'empty', messages: [] },
      ],
      25_000,
    );
    expect(sends.length).toBeGreaterThan(3);
    for (const send of sends) {
      const bytes = send.flatMap((t) => t.messages).reduce((n, m) => n + messageBytes(m), 0);
      expect(bytes).toBeLessThanOrEqual(25_000);
    }
    const flat = (topic: string) =>
      sends.flatMap((s) => s.filter((t) => t.topic === topic).flatMap((t) => t.messages));
    expect(flat('alerts')).toEqual(alerts);
    expect(flat('dead')).toEqual(dead);
  });

  it('gives a message over the budget a send of its own rather than dropping it', () => {
    const sends = splitBySize([{ topic: 't', messages: [msg('a', 10), msg('b', 5000), msg('c', 10)] }], 1000);
    expect(sends.map((s) => s[0]!.messages.map((m) => m.key))).toEqual([['a'], ['b'], ['c']]);
  });

  it('replaces the producer after errors that break its sequence, not after a lost connection', () => {
    const kafkaError = (type: string, retriable: boolean) =>
      Object.assign(new Error(type), { type, retriable });
    expect(needsNewProducer(kafkaError('MESSAGE_TOO_LARGE', false))).toBe(true);
    expect(needsNewProducer(kafkaError('OUT_OF_ORDER_SEQUENCE_NUMBER', false))).toBe(true);
    // kafkajs wraps what its own retries gave up on
    const wrapped = Object.assign(new Error('retries exceeded'), {
      retriable: false,
      originalError: kafkaError('UNKNOWN_PRODUCER_ID', true),
    });
    expect(needsNewProducer(wrapped)).toBe(true);
    expect(
      needsNewProducer(Object.assign(new Error('Connection error: ECONNREFUSED'), { retriable: true })),
    ).toBe(false);
    expect(needsNewProducer(kafkaError('LEADER_NOT_AVAILABLE', true))).toBe(false);
  });
});
