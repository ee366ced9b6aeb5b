/**
 * Whole-stream worker runs for the fault tests: each disturbed run must end with the same alert ids
 * and the same Redis baselines as an undisturbed one.
 */

import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { expect } from 'vitest';
import { CampaignEngine } from '../../src/campaign/campaign-engine.js';
import { MemoryCampaignStore } from '../../src/campaign/campaign-store.js';
import { type DetectionConfig, loadDetectionConfig } from '../../src/config/detection.js';
import type { RuntimeEnv } from '../../src/config/runtime.js';
import type { Alert, InputEvent } from '../../src/events/schema.js';
import { syntheticScenario } from '../../src/simulate/synthetic-scenario.js';
import { parseRedisTarget } from '../../src/state/redis-connection.js';
import { FAST_FORWARD_OVERRIDES } from './fast-forward.js';
import { inProcessRun } from './in-process.js';
import { collectAll, createTopics, kafkaClient, produceInOrder, testEnv } from './kafka.js';
import { readStateRecord } from './state-records.js';
import { WorkerProcess, waitForMembers, waitUntilConsumed } from './worker-process.js';

/**
 * The fault tests' stream (two days, ten accounts, one strong attack, unless `size` says otherwise;
 * `campaigns: false` switches the campaign aggregator off — its alerts depend on how far the account
 * partitions run apart, see `replayedAlertIds`) and a detection config that
 * keeps days of market history: workers that restart re-read the market from the start of the test
 * while their account backlog is days behind in event time, and snapshots must stay exact.
 */
export function faultScenario(
  size: { accounts: number; victims: number; campaigns?: boolean } = { accounts: 10, victims: 1 },
) {
  const configFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'keyguard-cfg-')), 'detection.json');
  const overrides =
    size.campaigns === false
      ? { ...FAST_FORWARD_OVERRIDES, campaign: { enabled: false } }
      : FAST_FORWARD_OVERRIDES;
  writeFileSync(configFile, JSON.stringify(overrides));
  const cfg = loadDetectionConfig(configFile);
  const events = syntheticScenario({
    seed: 13,
    days: 2,
    accounts: size.accounts,
    victims: size.victims,
    attackStrength: 'strong',
  }).events;
  return { configFile, cfg, events, third: Math.floor(events.length / 3) };
}

export type BaselineDump = Record<string, { state: unknown; positions: Record<string, string> }>;

/**
 * Every baseline under the run's prefix (on every master of a cluster), with run-specific names
 * (prefix, topic names) taken out.
 */
export async function dumpBaselines(redisUrl: string, env: RuntimeEnv): Promise<BaselineDump> {
  const target = parseRedisTarget(redisUrl);
  const redis = target.cluster ? new Cluster(target.nodes, { scaleReads: 'master' }) : new Redis(redisUrl);
  const prefix = env.KEYGUARD_REDIS_PREFIX;
  const topicPrefix = env.KEYGUARD_TOPIC_ORDERS.replace(/account-events$/, '');
  const out: BaselineDump = {};
  try {
    const servers = redis instanceof Cluster ? await mastersOf(redis) : [redis];
    const keys = (await Promise.all(servers.map((s) => s.keys(`${prefix}acct:*`)))).flat();
    for (const key of keys) {
      const record = (await readStateRecord(redis, key))!;
      const positions: Record<string, string> = {};
      for (const [source, position] of Object.entries(record.positions))
        positions[source.replace(topicPrefix, '')] = String(position);
      out[key.slice(prefix.length)] = { state: JSON.parse(record.json), positions };
    }
  } finally {
    redis.disconnect();
  }
  return out;
}

async function mastersOf(cluster: Cluster): Promise<Redis[]> {
  await cluster.ping(); // the node list arrives with the connection
  return cluster.nodes('master');
}

/**
 * The alert ids a worker must publish for `events`: replay's, campaign alerts included when
 * campaigns are on. The worker's campaign alerts equal replay's only while its account partitions
 * stay within the campaign window of each other in event time: the aggregator drops a first buy
 * older than its newest minus the window, and a backlog read partition by partition runs them apart.
 */
export async function replayedAlertIds(
  events: readonly InputEvent[],
  cfg: DetectionConfig,
): Promise<string[]> {
  const campaigns = cfg.campaign.enabled
    ? new CampaignEngine(cfg.campaign, new MemoryCampaignStore())
    : undefined;
  const replayed = await inProcessRun(events, cfg, campaigns);
  return [...new Set(replayed.alerts.map((a) => a.alertId))].sort();
}

/** The distinct alert ids on the run's alerts topic, read to its end (call once the workers are done). */
export async function alertIdsOf(env: RuntimeEnv): Promise<string[]> {
  const kafka = kafkaClient(env.KAFKA_BROKERS!.split(','));
  const alerts = await collectAll<Alert>(kafka, env.KEYGUARD_TOPIC_ALERTS, 30_000);
  return [...new Set(alerts.map((a) => a.alertId))].sort();
}

export function startedWorker(env: RuntimeEnv): WorkerProcess {
  const w = new WorkerProcess(env);
  w.start();
  return w;
}

/**
 * `n` workers in one consumer group, once the group is stable with all of them; if it never is, the
 * error carries the end of each worker's log (and the workers are stopped).
 */
export async function startedGroup(env: RuntimeEnv, n: number): Promise<WorkerProcess[]> {
  const workers = Array.from({ length: n }, () => startedWorker(env));
  try {
    await waitForMembers(kafkaClient(env.KAFKA_BROKERS!.split(',')), env.KEYGUARD_GROUP_ID, n);
    return workers;
  } catch (err) {
    const tails = workers.map((w, i) => `--- worker ${i + 1}:\n${w.output.slice(-4000)}`).join('\n');
    await Promise.all(workers.map((w) => w.stop().catch(() => {})));
    throw new Error(`${(err as Error).message}\n${tails}`);
  }
}

/** A worker process's counters, from its "stopped" log line (empty when it did not stop cleanly). */
function stoppedStats(w: WorkerProcess): Record<string, number> {
  const line = w.output.split('\n').find((l) => l.includes('"msg":"stopped"'));
  return line ? JSON.parse(line).stats : {};
}

/** Events a worker process processed, from its "stopped" log line. */
export function processedEvents(w: WorkerProcess): number {
  return stoppedStats(w).events ?? 0;
}

/** Batches a worker process scored before the market reached their time (its wait timed out). */
export function marketWaitTimeouts(w: WorkerProcess): number {
  return stoppedStats(w).marketWaitTimeouts ?? 0;
}

export interface RunSetting {
  brokers: string[];
  redisUrl: string;
  /** The detection config file the workers read. */
  configFile: string;
  env?: Partial<Record<keyof RuntimeEnv, string>>;
}

/**
 * Creates the run's topics, lets `script` start workers and send the stream (disturbing what it
 * likes meanwhile), waits until the group has consumed everything, stops the workers (each must
 * exit 0 within 10 s) and returns the alert ids and the baselines.
 */
export async function runWorkers(
  setting: RunSetting,
  script: (env: RuntimeEnv, send: (part: readonly InputEvent[]) => Promise<void>) => Promise<WorkerProcess[]>,
) {
  const env = testEnv(setting.brokers, setting.redisUrl, {
    KEYGUARD_DETECTION_CONFIG: setting.configFile,
    LOG_LEVEL: 'info',
    // The runs are compared alert id for alert id: every batch must be scored against the market as
    // it was, though a fault (a restarted worker reading the market topic again, a broker failing
    // over) puts the market feed seconds behind on a busy machine. The default wait (2 s) would
    // then score a batch without it, by design.
    KEYGUARD_MARKET_WAIT_MS: '30000',
    ...setting.env,
  });
  const kafka = kafkaClient(setting.brokers);
  await createTopics(kafka, env);
  const workers = await script(env, (part) => produceInOrder(kafka, env, part));
  try {
    await waitUntilConsumed(kafka, env, 90_000, { campaigns: true });
  } catch (err) {
    // Say where the workers are stuck: the end of each one's log.
    const tails = workers.map((w, i) => `--- worker ${i + 1}:\n${w.output.slice(-4000)}`).join('\n');
    await Promise.all(workers.map((w) => w.stop().catch(() => {})));
    throw new Error(`${(err as Error).message}\n${tails}`);
  }
  const stopped: number[] = [];
  for (const w of workers) {
    const t0 = Date.now();
    await w.stop();
    stopped.push(Date.now() - t0);
    expect((await w.exit)!.code, w.output.slice(-2000)).toBe(0);
  }
  expect(Math.max(...stopped)).toBeLessThan(10_000);
  return {
    env,
    ids: await alertIdsOf(env),
    state: await dumpBaselines(setting.redisUrl, env),
    workers,
  };
}
