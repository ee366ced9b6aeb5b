/**
 * Crash, outage and scale-out: each disturbed run must end with the same Redis baselines and the
 * same set of alert ids as an undisturbed run of the same stream.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { RuntimeEnv } from '../../src/config/runtime.js';
import type { InputEvent } from '../../src/events/schema.js';
import { createTopics, kafkaClient, produceInOrder, testEnv } from '../helpers/kafka.js';
import {
  committedRecords,
  type WorkerProcess,
  waitForMembers,
  waitUntil,
  waitUntilConsumed,
} from '../helpers/worker-process.js';
import {
  faultScenario,
  processedEvents,
  replayedAlertIds,
  runWorkers,
  startedWorker,
} from '../helpers/worker-runs.js';
import { startLocalRedis } from '../services/redis.js';

const { configFile, cfg, events, third } = faultScenario();
let expectedIds: string[] = [];

const run = (
  redisUrl: string,
  script: (env: RuntimeEnv, send: (part: readonly InputEvent[]) => Promise<void>) => Promise<WorkerProcess[]>,
) => runWorkers({ brokers: inject('kafkaBrokers'), redisUrl, configFile }, script);
const started = startedWorker;

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('worker faults (real Kafka and Redis, workers as processes)', () => {
  let baseline: Awaited<ReturnType<typeof run>>;

  beforeAll(async () => {
    // Replay's alerts, campaign alerts included (the workers run the campaign aggregator too).
    expectedIds = await replayedAlertIds(events, cfg);
    baseline = await run(inject('redisUrl'), async (env, send) => {
      const w = started(env);
      await send(events);
      return [w];
    });
  }, 180_000);

  it('an undisturbed run gives the alerts of replay', () => {
    expect(baseline.ids).toEqual(expectedIds);
    expect(Object.keys(baseline.state).length).toBe(11);
  });

  it('a worker killed with SIGKILL mid-stream and started again loses and repeats nothing', async () => {
    let killedAfter = 0;
    let recoveryMs = 0;
    const result = await run(inject('redisUrl'), async (env, send) => {
      const first = started(env);
      await send(events.slice(0, 2 * third));
      // Kill it once it has committed part of the work (a process starting on a busy machine may
      // take a few seconds to join the group).
      const kafka = kafkaClient(env.KAFKA_BROKERS!.split(','));
      for (let i = 0; i < 600 && killedAfter === 0; i++) {
        await pause(100);
        killedAfter = await committedRecords(kafka, env);
      }
      first.kill('SIGKILL');
      await first.exit;
      const killedAt = Date.now();
      const committedAtKill = await committedRecords(kafka, env); // it may have committed after the poll
      const second = started(env);
      // Recovery: from the kill to the group committing work again (a new process starts, joins,
      // and the dead member's session expires first).
      const resumed = waitUntil(
        async () => (await committedRecords(kafka, env)) > committedAtKill,
        90_000,
        'processing after the kill',
      ).then(() => {
        recoveryMs = Date.now() - killedAt;
      });
      await send(events.slice(2 * third));
      await resumed;
      return [second];
    });
    console.log(
      `[recovery] SIGKILL → partitions processing again: ${recoveryMs} ms (session timeout ${6000} ms, includes starting a new worker process)`,
    );
    expect(recoveryMs).toBeLessThan(60_000);
    expect(killedAfter).toBeGreaterThan(0); // it had done part of the work when killed
    expect(result.ids).toEqual(baseline.ids);
    expect(result.state).toEqual(baseline.state);
  }, 180_000);

  it('Redis stopped mid-stream and started again: the worker pauses, retries and skips nothing', async () => {
    const redis = await startLocalRedis({ dataDir: mkdtempSync(path.join(os.tmpdir(), 'keyguard-redis-')) });
    try {
      const result = await run(redis.url, async (env, send) => {
        const w = started(env);
        await send(events.slice(0, third));
        // Conditions, not sleeps: Redis goes once the worker has done some work, and comes back
        // once the worker has met the outage (a busy machine may take seconds for either).
        const kafka = kafkaClient(env.KAFKA_BROKERS!.split(','));
        await waitUntil(async () => (await committedRecords(kafka, env)) > 0, 60_000, 'first commit');
        await redis.kill();
        await send(events.slice(third, 2 * third));
        await waitUntil(async () => /retrying after a failure/.test(w.output), 60_000, 'a retry');
        await redis.start();
        await send(events.slice(2 * third));
        return [w];
      });
      const output = result.workers[0]!.output;
      expect(output).toMatch(/retrying after a failure/);
      expect(output).toMatch(/redis connection error/);
      // Clean logs through the outage: every line is one JSON object (no raw ioredis stack traces).
      const notJson = output.split('\n').filter((line) => {
        if (line.trim() === '') return false;
        try {
          return typeof JSON.parse(line) !== 'object';
        } catch {
          return true;
        }
      });
      expect(notJson).toEqual([]);
      expect(result.ids).toEqual(baseline.ids);
      expect(result.state).toEqual(baseline.state);
    } finally {
      await redis.stop();
    }
  }, 180_000);

  it('Redis restarted without persistence: the worker says the baselines were lost, at run time and at start', async () => {
    const redis = await startLocalRedis({ dataDir: null });
    try {
      const brokers = inject('kafkaBrokers');
      const env = testEnv(brokers, redis.url, { KEYGUARD_DETECTION_CONFIG: configFile, LOG_LEVEL: 'info' });
      const kafka = kafkaClient(brokers);
      await createTopics(kafka, env);
      const lost = (w: WorkerProcess) =>
        w.output
          .split('\n')
          .filter((l) => l.includes('baseline state was lost'))
          .map((l) => JSON.parse(l) as { level: number; reason: string });
      const w = started(env);
      await produceInOrder(kafka, env, events.slice(0, third));
      await waitUntil(async () => (await committedRecords(kafka, env)) > 0, 60_000, 'first commit');
      expect(w.output).toMatch(/without an append-only file/); // warned at start
      await redis.kill();
      await redis.start(); // empty: no persistence
      await produceInOrder(kafka, env, events.slice(third));
      await waitUntilConsumed(kafka, env, 90_000);
      expect(lost(w)).toHaveLength(1);
      expect(lost(w)[0]).toMatchObject({ level: 50, reason: expect.stringMatching(/state epoch is gone/) });
      await w.stop();

      // Lost while no worker ran: noticed at start, from the group's committed offsets.
      const flush = new Redis(redis.url);
      await flush.flushall();
      await flush.quit();
      const again = started(env);
      await waitUntil(async () => lost(again).length > 0, 60_000, 'the reset at start');
      await waitUntil(async () => again.output.includes('worker started'), 60_000, 'the worker started');
      await waitUntil(async () => again.output.includes('worker started'), 60_000, 'the worker started');
      expect(lost(again)[0]!.reason).toMatch(
        /no state epoch although the consumer group has committed offsets/,
      );
      await again.stop();
    } finally {
      await redis.stop();
    }
  }, 180_000);

  it('a second worker joining mid-stream shares the partitions without changing the outcome', async () => {
    const result = await run(inject('redisUrl'), async (env, send) => {
      const first = started(env);
      await send(events.slice(0, third));
      const second = started(env);
      await waitForMembers(kafkaClient(env.KAFKA_BROKERS!.split(',')), env.KEYGUARD_GROUP_ID, 2);
      await send(events.slice(third));
      return [first, second];
    });
    // Both took part: the partitions were shared after the rebalance.
    expect(result.workers.map(processedEvents).every((n) => n > 0)).toBe(true);
    expect(result.ids).toEqual(baseline.ids);
    expect(result.state).toEqual(baseline.state);
  }, 180_000);
});
