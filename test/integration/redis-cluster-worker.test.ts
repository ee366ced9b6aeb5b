import { beforeAll, describe, expect, inject, it } from 'vitest';
import { isMarketEvent } from '../../src/events/schema.js';
import { keySlot } from '../../src/state/key-slot.js';
import { accountStateKey } from '../../src/state/keys.js';
import { kafkaClient } from '../helpers/kafka.js';
import { committedRecords, waitUntil } from '../helpers/worker-process.js';
import { faultScenario, replayedAlertIds, runWorkers, startedWorker } from '../helpers/worker-runs.js';
import { startLocalRedisCluster } from '../services/redis-cluster.js';

// Three victims: seven alerts whose ids must all come through. Campaigns off: their alerts depend on
// how far apart the partitions run (see replayedAlertIds), which a fault changes by design.
const { configFile, cfg, events, third } = faultScenario({ accounts: 12, victims: 3, campaigns: false });
let expectedIds: string[] = [];

const setting = (redisUrl: string, waitReplicas: string) => ({
  brokers: inject('kafkaBrokers'),
  redisUrl,
  configFile,
  env: { KEYGUARD_REDIS_WAIT_REPLICAS: waitReplicas, KEYGUARD_REDIS_WAIT_TIMEOUT_MS: '1000' },
});

describe('worker on a Redis Cluster', () => {
  let single: Awaited<ReturnType<typeof runWorkers>>;

  beforeAll(async () => {
    expectedIds = await replayedAlertIds(events, cfg);
    single = await runWorkers(setting(inject('redisUrl'), '0'), async (_env, send) => {
      const w = startedWorker(_env);
      await send(events);
      return [w];
    });
    expect(single.ids).toEqual(expectedIds);
  }, 180_000);

  it('gives the alert ids and baselines of the single-Redis run', async () => {
    const clustered = await runWorkers(setting(inject('redisClusterUrl'), '1'), async (env, send) => {
      const w = startedWorker(env);
      await send(events);
      return [w];
    });
    expect(clustered.ids).toEqual(single.ids);
    expect(clustered.state).toEqual(single.state);
    expect(Object.keys(clustered.state).length).toBe(Object.keys(single.state).length);
  }, 180_000);

  it('a master killed with SIGKILL mid-stream: its replica takes over, the worker pauses, retries, and loses or repeats nothing', async () => {
    const cluster = await startLocalRedisCluster();
    const timings: Record<string, number> = {};
    try {
      const result = await runWorkers(setting(cluster.url, '1'), async (env, send) => {
        // The master holding most of the stream's accounts.
        const accounts = new Set(
          events.filter((e) => !isMarketEvent(e)).map((e) => `${e.exchange}\u0000${e.accountId}`),
        );
        const byMaster = new Map<number, number>();
        let slotOfVictim = 0;
        for (const a of accounts) {
          const [exchange, accountId] = a.split('\u0000') as [string, string];
          const slot = keySlot(accountStateKey(env.KEYGUARD_REDIS_PREFIX, { exchange, accountId }));
          const master = cluster.masterOf(slot);
          byMaster.set(master, (byMaster.get(master) ?? 0) + 1);
          if (byMaster.get(master)! >= Math.max(...byMaster.values())) slotOfVictim = slot;
        }
        const victim = cluster.masterOf(slotOfVictim);

        const w = startedWorker(env);
        await send(events.slice(0, third));
        const kafka = kafkaClient(env.KAFKA_BROKERS!.split(','));
        await waitUntil(async () => (await committedRecords(kafka, env)) > 0, 60_000, 'first commit');
        const killedAt = Date.now();
        await cluster.kill(victim);
        await send(events.slice(third, 2 * third));
        await waitUntil(async () => /retrying after a failure/.test(w.output), 60_000, 'a retry');
        // The replica is promoted (cluster-node-timeout 1 s) ...
        await waitUntil(
          async () => {
            try {
              return cluster.masterOf(slotOfVictim) !== victim;
            } catch {
              return false;
            }
          },
          60_000,
          'the replica promoted',
        );
        timings.promotedAfterMs = Date.now() - killedAt;
        // ... and, with WAIT 1, writes to its slots wait for a replica: the old master comes back as one.
        await cluster.start(victim);
        await cluster.waitHealthy(60_000);
        timings.healthyAfterMs = Date.now() - killedAt;
        await send(events.slice(2 * third));
        return [w];
      });
      const retries = result.workers[0]!.output.split('\n').filter((l) =>
        l.includes('retrying after a failure'),
      );
      console.log(
        `[redis failover] replica promoted ${timings.promotedAfterMs} ms after the SIGKILL, cluster healthy again after ${timings.healthyAfterMs} ms; ${retries.length} retries logged; alert ids ${result.ids.length} (expected ${single.ids.length})`,
      );
      expect(retries.length).toBeGreaterThan(0);
      expect(result.ids).toEqual(single.ids);
      expect(result.state).toEqual(single.state);
    } finally {
      await cluster.stop();
    }
  }, 240_000);
});
