/**
 * `keyguard config check|publish FILE`: a detection config version — overrides of the config the
 * workers start with — checked the way the workers will check it, and published to the compacted
 * config topic (keyed by version) with the event time it takes effect from.
 */
import type { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { type ConfigRecord, versionFromRecord, versionKey } from '../config/config-versions.js';
import type { DetectionConfig } from '../config/detection.js';
import { readJsonConfig } from '../config/json-file.js';
import type { RuntimeEnv } from '../config/runtime.js';
import { ConfigError, UsageError } from '../errors.js';
import { kafkaConnection } from '../kafka/connection.js';
import { createConfigTopic, topicLayout } from '../kafka/topics.js';
import type { Logger } from '../logger.js';
import { connectedProducer } from '../simulate/publish.js';
import { ConfigFeed, configFeedOptions } from '../worker/config-feed.js';
import { timeOption } from './options.js';

/** Room between publishing and the earliest effectiveFrom the workers accept. */
const MARGIN_MS = 5000;

function effectiveFrom(text: string | undefined, earliest: number): number {
  if (text === undefined) return earliest + MARGIN_MS;
  const t = timeOption('effective-from', text);
  if (t < earliest) {
    throw new UsageError(
      `--effective-from ${new Date(t).toISOString()} is too soon: versions take effect at least KEYGUARD_CONFIG_LEAD_MS after publication (earliest now: ${new Date(earliest).toISOString()})`,
    );
  }
  return t;
}

export async function configCommand(
  argv: string[],
  env: RuntimeEnv,
  base: DetectionConfig,
  log: Logger,
  stdout: Writable,
): Promise<number> {
  const [action, ...rest] = argv;
  if (action === 'list') return listVersions(rest, env, base, log, stdout);
  if (action !== 'check' && action !== 'publish')
    throw new UsageError('expected: keyguard config check|publish FILE, or keyguard config list');
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { 'effective-from': { type: 'string' }, comment: { type: 'string' } },
  });
  const file = positionals[0];
  if (!file || positionals.length > 1)
    throw new UsageError('expected one FILE of detection config overrides');
  const overrides = readJsonConfig(file, 'detection config overrides');
  if (typeof overrides !== 'object' || overrides === null || Array.isArray(overrides))
    throw new ConfigError(`${file}: expected a JSON object of detection config keys`);
  const record: ConfigRecord = {
    effectiveFrom: effectiveFrom(values['effective-from'], Date.now() + env.KEYGUARD_CONFIG_LEAD_MS),
    overrides: overrides as Record<string, unknown>,
    ...(values.comment ? { comment: values.comment } : {}),
  };
  // The workers' own check: refused here with the key named, it never reaches the topic.
  const v = versionFromRecord(record, base);
  if (action === 'check') {
    stdout.write(`${file}: valid; version ${v.version} (not published)\n`);
    return 0;
  }
  if (!env.KAFKA_BROKERS) throw new ConfigError('keyguard config publish needs KAFKA_BROKERS');
  const kafka = kafkaConnection(env.KAFKA_BROKERS, env, log);
  await createConfigTopic(kafka, env.KEYGUARD_TOPIC_CONFIG, topicLayout(env));
  const producer = await connectedProducer(kafka);
  // Timed once connected (connecting may take seconds): the workers measure the lead from the append.
  const timed = {
    ...record,
    effectiveFrom: effectiveFrom(values['effective-from'], Date.now() + env.KEYGUARD_CONFIG_LEAD_MS),
  };
  const at = new Date(timed.effectiveFrom).toISOString();
  try {
    await producer.send({
      topic: env.KEYGUARD_TOPIC_CONFIG,
      acks: -1,
      messages: [
        {
          key: versionKey({ version: v.version, effectiveFrom: timed.effectiveFrom }),
          value: JSON.stringify(timed),
        },
      ],
    });
  } finally {
    await producer.disconnect();
  }
  stdout.write(
    `published version ${v.version}, in effect for events from ${at} (${env.KEYGUARD_TOPIC_CONFIG})\n`,
  );
  return 0;
}

/**
 * `keyguard config list`: every version on the config topic as the workers read it (one JSON per
 * line: version, effectiveFrom, whether it is in effect for events dated now, scheduled or
 * superseded, its comment), then every refused record with its reason.
 */
async function listVersions(
  argv: string[],
  env: RuntimeEnv,
  base: DetectionConfig,
  log: Logger,
  stdout: Writable,
): Promise<number> {
  if (argv.length > 0)
    throw new UsageError(`keyguard config list takes no arguments, got "${argv.join(' ')}"`);
  if (!env.KAFKA_BROKERS) throw new ConfigError('keyguard config list needs KAFKA_BROKERS');
  const feed = new ConfigFeed(
    kafkaConnection(env.KAFKA_BROKERS, env, log),
    base,
    configFeedOptions(env),
    log,
  );
  await feed.start();
  try {
    const now = Date.now();
    const current = feed.timeline.at(now);
    for (const v of feed.timeline.all()) {
      const startUp = !Number.isFinite(v.effectiveFrom);
      const line = {
        version: v.version,
        effectiveFrom: startUp ? 'start-up config' : new Date(v.effectiveFrom).toISOString(),
        status: v === current ? 'in effect' : v.effectiveFrom > now ? 'scheduled' : 'superseded',
        ...(startUp ? {} : { comment: feed.comments.get(versionKey(v)) }),
      };
      stdout.write(`${JSON.stringify(line)}\n`);
    }
    for (const r of feed.refused)
      stdout.write(`${JSON.stringify({ offset: r.offset, refused: r.reason })}\n`);
  } finally {
    await feed.stop();
  }
  return 0;
}
