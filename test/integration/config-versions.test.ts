/**
 * Thresholds changed without a redeploy, on a real Kafka and Redis: the worker reads detection
 * config versions from the compacted config topic, scores every event with the version in effect
 * at the event's time, names it on each alert, refuses a bad version (the key named) and keeps
 * running — and its alerts equal a replay given the same versions.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, inject, it } from 'vitest';
import { ConfigTimeline, configVersionOf, versionFromRecord } from '../../src/config/config-versions.js';
import { loadDetectionConfig } from '../../src/config/detection.js';
import type { RuntimeEnv } from '../../src/config/runtime.js';
import type { Alert } from '../../src/events/schema.js';
import { createMissingTopics, topicLayout } from '../../src/kafka/topics.js';
import { createLogger } from '../../src/logger.js';
import { ConfigFeed, configFeedOptions } from '../../src/worker/config-feed.js';
import { inProcessRun } from '../helpers/in-process.js';
import { collectAll, createTopics, kafkaClient, produceInOrder, testEnv } from '../helpers/kafka.js';
import { WorkerProcess, waitUntilConsumed } from '../helpers/worker-process.js';
import { faultScenario } from '../helpers/worker-runs.js';

const brokers = inject('kafkaBrokers');
const redisUrl = inject('redisUrl');
const kafka = kafkaClient(brokers);
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

it('a worker scores each event with the config version in effect at its time, refuses a bad one naming the key, and equals a replay with the same versions', async () => {
  const { configFile, cfg, events } = faultScenario({ accounts: 12, victims: 2, campaigns: false });
  const plain = (await inProcessRun(events, cfg)).alerts;
  const times = [...new Set(plain.map((a) => a.timestamp))].sort((a, b) => a - b);
  expect(times.length).toBeGreaterThan(1);
  const switchAt = times[Math.floor(times.length / 2)]!;
  // Every alert from switchAt on is "low": the same alerts, visibly scored with the new version.
  const good = {
    effectiveFrom: switchAt,
    overrides: { fusion: { severityBands: [{ minScore: 0, severity: 'low' }] } },
    comment: 'test: everything low',
  };
  const bad = { effectiveFrom: switchAt - 5000, overrides: { fusion: { reportMinScor: 0.9 } } };
  const fixedKey = { effectiveFrom: switchAt - 4000, overrides: { state: { ttlSeconds: 60 } } };

  const env = testEnv(brokers, redisUrl, {
    KEYGUARD_DETECTION_CONFIG: configFile,
    KEYGUARD_CONFIG_LEAD_MS: '1000',
    KEYGUARD_CONFIG_POLL_MS: '200',
    LOG_LEVEL: 'info',
  });
  await createTopics(kafka, env);
  // The worker's own config topic is LogAppendTime; this one keeps the producer's timestamps so the
  // test can date its versions' publication in the stream's past.
  await createMissingTopics(
    kafka,
    [env.KEYGUARD_TOPIC_CONFIG],
    { ...topicLayout(env), partitions: 1 },
    {
      'cleanup.policy': 'compact',
    },
  );
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  cleanups.push(() => producer.disconnect());
  // Published (record time) well before the stream reached switchAt: a backlog catching up must
  // apply the version from switchAt on, exactly as the live stream did.
  await producer.send({
    topic: env.KEYGUARD_TOPIC_CONFIG,
    acks: -1,
    messages: [bad, fixedKey, good].map((r, i) => ({
      key: `r${i}`,
      value: JSON.stringify(r),
      timestamp: String(switchAt - 3_600_000),
    })),
  });

  const worker = new WorkerProcess(env);
  worker.start();
  cleanups.push(() => worker.stop());
  await produceInOrder(kafka, env, events);
  await waitUntilConsumed(kafka, env, 120_000);
  await worker.stop();
  const published = await collectAll<Alert>(kafka, env.KEYGUARD_TOPIC_ALERTS, 30_000);

  const versions = new ConfigTimeline(cfg);
  versions.add(versionFromRecord(good, cfg));
  const replayed = (await inProcessRun(events, cfg, undefined, versions)).alerts;
  const summary = (alerts: readonly Alert[]) =>
    [
      ...new Map(alerts.map((a) => [a.alertId, `${a.alertId} ${a.severity} ${a.configVersion}`])).values(),
    ].sort();
  expect(summary(published)).toEqual(summary(replayed));
  const next = versionFromRecord(good, cfg).version;
  const before = published.filter((a) => a.timestamp < switchAt);
  const after = published.filter((a) => a.timestamp >= switchAt);
  expect(before.length).toBeGreaterThan(0);
  expect(after.length).toBeGreaterThan(0);
  expect(new Set(before.map((a) => a.configVersion))).toEqual(new Set([configVersionOf(cfg)]));
  expect(after.every((a) => a.configVersion === next && a.severity === 'low')).toBe(true);
  expect(before.some((a) => a.severity !== 'low')).toBe(true);
  // The bad records: refused with the key named, the worker went on.
  expect(worker.output).toContain('fusion.reportMinScor: unknown key');
  expect(worker.output).toContain('state.ttlSeconds cannot change at run time');
  expect(worker.output.match(/detection config record refused/g)).toHaveLength(2);
}, 240_000);

/** The CLI as its own process with the test's environment. */
function keyguardCli(
  env: RuntimeEnv,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const vars: Record<string, string> = { ...(process.env as Record<string, string>) };
  for (const [k, v] of Object.entries(env)) if (v !== undefined) vars[k] = String(v);
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/keyguard.js', ...args], { env: vars }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

it('live: `keyguard config publish` refuses a bad version before it reaches the topic; a published one reaches every worker, which scores past what it has read only after reading it', async () => {
  const env = testEnv(brokers, redisUrl, { KEYGUARD_CONFIG_LEAD_MS: '2000', KEYGUARD_CONFIG_POLL_MS: '100' });
  const cfg = loadDetectionConfig(); // what the CLI, with this environment, checks versions against
  const feeds = [0, 1].map(() => new ConfigFeed(kafka, cfg, configFeedOptions(env), createLogger('silent')));
  for (const f of feeds) {
    await f.start();
    cleanups.push(() => f.stop());
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'keyguard-config-'));
  const badFile = path.join(dir, 'bad.json');
  writeFileSync(badFile, JSON.stringify({ offMarket: { minDeviation: 0.5, fullDeviation: 0.2 } }));
  const goodFile = path.join(dir, 'good.json');
  writeFileSync(goodFile, JSON.stringify({ fusion: { reportMinScore: 0.45 } }));

  const admin = kafka.admin();
  await admin.connect();
  cleanups.push(() => admin.disconnect());
  const described = await admin.describeConfigs({
    resources: [
      { type: 2, name: env.KEYGUARD_TOPIC_CONFIG, configNames: ['message.timestamp.type', 'cleanup.policy'] },
    ],
    includeSynonyms: false,
  });
  expect(
    Object.fromEntries(described.resources[0]!.configEntries.map((e) => [e.configName, e.configValue])),
  ).toEqual({ 'message.timestamp.type': 'LogAppendTime', 'cleanup.policy': 'compact' });

  const refused = await keyguardCli(env, ['config', 'publish', badFile]);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toContain('offMarket.fullDeviation: must exceed minDeviation');
  const soon = await keyguardCli(env, [
    'config',
    'publish',
    goodFile,
    '--effective-from',
    String(Date.now()),
  ]);
  expect(soon.code).toBe(2);
  expect(soon.stderr).toMatch(/--effective-from .* is too soon/);
  expect((await admin.fetchTopicOffsets(env.KEYGUARD_TOPIC_CONFIG))[0]!.high).toBe('0');

  const published = await keyguardCli(env, ['config', 'publish', goodFile, '--comment', 'test']);
  expect(published.code, published.stderr).toBe(0);
  const version = /published version ([0-9a-f]{12}), in effect for events from (\S+)/.exec(published.stdout);
  expect(version).not.toBeNull();
  const effectiveFrom = Date.parse(version![2]!);
  expect(effectiveFrom).toBeGreaterThanOrEqual(Date.now() + 1000); // the lead, and then some
  for (const f of feeds) {
    const deadline = Date.now() + 20_000;
    while (f.timeline.latest().version !== version![1] && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(f.timeline.at(effectiveFrom - 1).version).toBe(configVersionOf(cfg));
    expect(f.timeline.at(effectiveFrom).version).toBe(version![1]);
    expect(f.timeline.at(effectiveFrom).config.fusion.reportMinScore).toBe(0.45);
  }
  // Scoring an event dated beyond what the feed can have read waits, then fails into the retry…
  await expect(feeds[0]!.waitFor(Date.now() + 60_000, 300)).rejects.toMatchObject({
    code: 'KG_ERR_CONFIG_STALE',
  });
  // …while a live event (dated now) goes at once: the feed read the topic within the lead.
  await feeds[0]!.waitFor(Date.now(), 10_000);

  // What a risk team sees: the start-up config in effect, the published version scheduled, with its comment…
  const listed = await keyguardCli(env, ['config', 'list']);
  expect(listed.code, listed.stderr).toBe(0);
  expect(
    listed.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l)),
  ).toEqual([
    { version: configVersionOf(cfg), effectiveFrom: 'start-up config', status: 'in effect' },
    { version: version![1], effectiveFrom: version![2], status: 'scheduled', comment: 'test' },
  ]);
  // …and a record that reached the topic without the CLI's check is listed as refused, with its reason.
  const producer = kafka.producer();
  await producer.connect();
  cleanups.push(() => producer.disconnect());
  await producer.send({
    topic: env.KEYGUARD_TOPIC_CONFIG,
    acks: -1,
    messages: [
      {
        key: 'unchecked',
        value: JSON.stringify({
          effectiveFrom: Date.now() + 60_000,
          overrides: { state: { ttlSeconds: 9 } },
        }),
      },
    ],
  });
  const again = await keyguardCli(env, ['config', 'list']);
  expect(again.stdout).toContain('"refused":"state.ttlSeconds cannot change at run time');
}, 120_000);
