/**
 * A three-broker Kafka cluster (KRaft, every node a broker and a controller voter): topics with
 * three copies and min.insync.replicas=2, producers with acks = all. The consumer group's coordinator
 * broker killed with SIGKILL while two workers consume, then started again: no alert id lost, none new, the baselines of the
 * undisturbed run.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { topicLayout } from '../../src/kafka/topics.js';
import { kafkaClient } from '../helpers/kafka.js';
import { committedRecords, waitUntil } from '../helpers/worker-process.js';
import {
  faultScenario,
  marketWaitTimeouts,
  processedEvents,
  replayedAlertIds,
  runWorkers,
  startedGroup,
} from '../helpers/worker-runs.js';
import { type LocalKafkaCluster, startLocalKafkaCluster } from '../services/kafka.js';

// Three victims: seven alerts whose ids must all come through. Campaigns off: their alerts depend on
// how far apart the partitions run (see replayedAlertIds), which a fault changes by design.
const { configFile, cfg, events, third } = faultScenario({ accounts: 12, victims: 3, campaigns: false });
let expectedIds: string[] = [];
let kafkaCluster: LocalKafkaCluster;

// runWorkers waits for the market (30 s): while the killed broker's partitions fail over, the
// market feed falls seconds behind, and the test checks that no batch was scored before it caught up.
const setting = () => ({
  brokers: kafkaCluster.brokers,
  redisUrl: inject('redisUrl'),
  configFile,
  env: { KEYGUARD_REPLICATION_FACTOR: '3' },
});

describe('three-broker Kafka', () => {
  let undisturbed: Awaited<ReturnType<typeof runWorkers>>;

  beforeAll(async () => {
    expectedIds = await replayedAlertIds(events, cfg);
    kafkaCluster = await startLocalKafkaCluster(3);
    undisturbed = await runWorkers(setting(), async (env, send) => {
      const workers = await startedGroup(env, 2);
      await send(events);
      return workers;
    });
  }, 240_000);

  afterAll(async () => {
    await kafkaCluster?.stop();
  });

  it('creates every topic with three copies and min.insync.replicas=2; two workers give the alerts of replay', async () => {
    expect(undisturbed.ids).toEqual(expectedIds);
    expect(topicLayout(undisturbed.env)).toMatchObject({ replicationFactor: 3, minInsyncReplicas: 2 });
    const admin = kafkaClient(kafkaCluster.brokers).admin();
    await admin.connect();
    try {
      const topic = undisturbed.env.KEYGUARD_TOPIC_ALERTS;
      const meta = await admin.fetchTopicMetadata({ topics: [topic, undisturbed.env.KEYGUARD_TOPIC_ORDERS] });
      for (const t of meta.topics) for (const p of t.partitions) expect(p.replicas).toHaveLength(3);
      const described = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: 2, name: topic, configNames: ['min.insync.replicas'] }],
      });
      expect(described.resources[0]!.configEntries[0]).toMatchObject({
        configName: 'min.insync.replicas',
        configValue: '2',
      });
    } finally {
      await admin.disconnect();
    }
  });

  it('a broker killed with SIGKILL while two workers consume, then started again: no alert lost, none new, the same baselines', async () => {
    const timings: Record<string, number> = {};
    const result = await runWorkers(setting(), async (env, send) => {
      const kafka = kafkaClient(kafkaCluster.brokers);
      const workers = await startedGroup(env, 2);
      await send(events.slice(0, third));
      await waitUntil(async () => (await committedRecords(kafka, env)) > 0, 60_000, 'first commit');
      // The group's coordinator — the broker leading the group's partition of __consumer_offsets
      // (Kafka's own choice: abs(groupId.hashCode()) % offsets.topic.num.partitions, 4 here) — the
      // hardest broker to lose: commits and heartbeats must find a new coordinator.
      const admin = kafka.admin();
      await admin.connect();
      const meta = await admin.fetchTopicMetadata({ topics: ['__consumer_offsets'] });
      await admin.disconnect();
      const hash = [...env.KEYGUARD_GROUP_ID].reduce((h, c) => (Math.imul(31, h) + c.charCodeAt(0)) | 0, 0);
      const offsetsPartition = (hash & 0x7fffffff) % meta.topics[0]!.partitions.length;
      const leaderId = meta.topics[0]!.partitions.find((p) => p.partitionId === offsetsPartition)!.leader;
      const victim = kafkaCluster.nodes[leaderId - 1]!;
      const committedAtKill = await committedRecords(kafka, env);
      const killedAt = Date.now();
      await victim.kill();
      // Two copies of three remain: acks=all writes still meet min.insync.replicas=2.
      await send(events.slice(third, 2 * third));
      await waitUntil(
        async () => (await committedRecords(kafka, env).catch(() => 0)) > committedAtKill,
        90_000,
        'the workers committing again without the broker',
      ).catch((err: Error) => {
        throw new Error(
          `${err.message}\n${workers.map((w, i) => `--- worker ${i + 1}:\n${w.output.slice(-3000)}`).join('\n')}`,
        );
      });
      timings.resumedAfterMs = Date.now() - killedAt;
      await victim.start();
      timings.restartedAfterMs = Date.now() - killedAt;
      await send(events.slice(2 * third));
      return workers;
    });
    console.log(
      `[broker loss] group committing again ${timings.resumedAfterMs} ms after the SIGKILL; broker back after ${timings.restartedAfterMs} ms; alert ids ${result.ids.length} (undisturbed ${undisturbed.ids.length}); events per worker ${result.workers.map(processedEvents).join(', ')}; market waits timed out ${result.workers.map(marketWaitTimeouts).join(', ')}`,
    );
    expect(result.workers.map(marketWaitTimeouts)).toEqual([0, 0]);
    expect(result.ids).toEqual(undisturbed.ids);
    expect(result.state).toEqual(undisturbed.state);
  }, 240_000);
});
