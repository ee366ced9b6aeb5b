/**
 * `keyguard simulate --to-kafka`: the simulated stream lands on the input topics a worker reads —
 * every event once, on its topic, keyed as an exchange would key it — and `--rate` paces it.
 */
import { describe, expect, inject, it } from 'vitest';
import type { InputEvent } from '../../src/events/schema.js';
import { routeEvents } from '../../src/simulate/publish.js';
import { syntheticScenario } from '../../src/simulate/synthetic-scenario.js';
import { runCli } from '../helpers/cli.js';
import { collectAll, kafkaClient, testEnv } from '../helpers/kafka.js';

describe('simulate --to-kafka', () => {
  it('publishes every simulated event once to its input topic, at most --rate events per second', async () => {
    const env = testEnv(inject('kafkaBrokers'), inject('redisUrl'));
    const variables: Record<string, string> = {};
    for (const [name, value] of Object.entries(env))
      if (
        name.startsWith('KEYGUARD_TOPIC_') ||
        name === 'KAFKA_BROKERS' ||
        name === 'KEYGUARD_INPUT_PARTITIONS'
      )
        variables[name] = String(value);
    const saved = { ...process.env };
    Object.assign(process.env, variables, { LOG_LEVEL: 'warn' });
    const rate = 20_000;
    const args = ['--days', '1', '--accounts', '10', '--victims', '1', '--seed', '4'];
    const started = performance.now();
    let result: Awaited<ReturnType<typeof runCli>>;
    try {
      result = await runCli(['simulate', '--to-kafka', '--rate', String(rate), ...args]);
    } finally {
      process.env = saved;
    }
    const seconds = (performance.now() - started) / 1000;
    expect(result.code, result.stderr).toBe(0);

    const events: InputEvent[] = syntheticScenario({ seed: 4, days: 1, accounts: 10, victims: 1 }).events;
    expect(seconds).toBeGreaterThanOrEqual((events.length / rate) * 0.95);
    const kafka = kafkaClient(inject('kafkaBrokers'));
    for (const [topic, messages] of routeEvents(env, events)) {
      const published = await collectAll<string>(kafka, topic, 30_000, (b) => b.toString('utf8'));
      expect(published.length, topic).toBe(messages.length);
      expect([...published].sort(), topic).toEqual(messages.map((m) => String(m.value)).sort());
    }
  }, 120_000);
});
