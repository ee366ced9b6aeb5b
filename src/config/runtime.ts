/**
 * Process configuration from environment variables, validated once at start-up. A bad value stops
 * the process with one message naming every bad variable.
 */
import { z } from 'zod';
import { ConfigError } from '../errors.js';

const port = z.coerce.number().int().min(0).max(65535);

export const runtimeEnvSchema = z.object({
  KAFKA_BROKERS: z
    .string()
    .regex(/^[^,\s]+:\d+(,[^,\s]+:\d+)*$/, 'expected host:port[,host:port…]')
    .optional(),
  /** One server (`redis://host:port`) or a Redis Cluster's seed nodes (`redis+cluster://host:port,host:port`). */
  REDIS_URL: z
    .string()
    .regex(/^rediss?(\+cluster)?:\/\//, 'expected redis://host:port or redis+cluster://host:port,host:port')
    .optional(),
  /**
   * Replicas that must hold a batch's baselines (Redis WAIT on every node written) before its offsets
   * are committed: 1 where Redis has replicas (a cluster), so a failover cannot lose committed state.
   */
  KEYGUARD_REDIS_WAIT_REPLICAS: z.coerce.number().int().min(0).max(5).default(0),
  KEYGUARD_REDIS_WAIT_TIMEOUT_MS: z.coerce.number().int().min(10).max(10_000).default(2000),
  KEYGUARD_REDIS_PREFIX: z.string().min(1).default('kg:'),
  KEYGUARD_DETECTION_CONFIG: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  KEYGUARD_METRICS_PORT: port.default(9464),
  KEYGUARD_GROUP_ID: z.string().min(1).default('keyguard-detector'),
  // Orders and fills share one topic by default: one account's events then reach the worker in the
  // order they happened. Separate topics work too (co-partitioned, merged by event time, best effort).
  KEYGUARD_TOPIC_ORDERS: z.string().min(1).default('keyguard.account-events'),
  KEYGUARD_TOPIC_FILLS: z.string().min(1).default('keyguard.account-events'),
  KEYGUARD_TOPIC_MARKET: z.string().min(1).default('keyguard.market'),
  KEYGUARD_TOPIC_APIKEYS: z.string().min(1).default('keyguard.apikeys'),
  KEYGUARD_TOPIC_ALERTS: z.string().min(1).default('keyguard.alerts'),
  KEYGUARD_TOPIC_RECOMMENDATIONS: z.string().min(1).default('keyguard.recommendations'),
  KEYGUARD_TOPIC_DEAD_LETTER: z.string().min(1).default('keyguard.dead-letter'),
  /** Internal: first buys and anomalous labelled keys, re-keyed by symbol and label for the campaign aggregator. */
  KEYGUARD_TOPIC_CAMPAIGN_OBSERVATIONS: z.string().min(1).default('keyguard.campaign-observations'),
  /** Detection config versions (compacted; `keyguard config publish`): thresholds changed without a redeploy. */
  KEYGUARD_TOPIC_CONFIG: z.string().min(1).default('keyguard.config'),
  /**
   * A config version takes effect at least this long (event time) after it is published, and a
   * worker scores an event only once it has read the config topic up to that event's time minus
   * this: every worker applies a version at the same point of the stream. Keep it above the
   * clock skew between the exchange's event times and the workers' clocks.
   */
  KEYGUARD_CONFIG_LEAD_MS: z.coerce.number().int().min(100).default(30_000),
  /** How often a worker reads the config topic to its end. */
  KEYGUARD_CONFIG_POLL_MS: z.coerce.number().int().min(50).default(1000),
  KEYGUARD_INPUT_PARTITIONS: z.coerce.number().int().min(1).max(1024).default(6),
  /** Copies of every topic keyguard creates: 1 for a single broker; 3 for a production cluster. */
  KEYGUARD_REPLICATION_FACTOR: z.coerce.number().int().min(1).max(7).default(1),
  /** min.insync.replicas of the topics keyguard creates (default: 2 from 3 copies up, else 1). */
  KEYGUARD_MIN_INSYNC_REPLICAS: z.coerce.number().int().min(1).max(7).optional(),
  KEYGUARD_SESSION_TIMEOUT_MS: z.coerce.number().int().min(6000).default(10000),
  /** Largest send to Kafka: keep it under the broker's (and topic's) message.max.bytes, 1 MiB by default. */
  KEYGUARD_PRODUCER_MAX_BATCH_BYTES: z.coerce.number().int().min(16_384).default(524_288),
  /** A partition paused (retrying a failure) for longer than this makes /readyz answer 503. */
  KEYGUARD_MAX_PAUSED_MS: z.coerce.number().int().min(1000).default(120_000),
  KEYGUARD_MARKET_LOOKBACK_MS: z.coerce.number().int().min(0).default(7_200_000),
  KEYGUARD_MARKET_WAIT_MS: z.coerce.number().int().min(0).default(2000),
  /**
   * On a backlog the market stream is held this far ahead of the slowest account partition (its
   * history is kept from there): bounded memory, exact references. Below a day (minute buckets are
   * kept for `reference.maxAgeMs`).
   */
  KEYGUARD_MARKET_MAX_AHEAD_MS: z.coerce.number().int().min(60_000).max(86_400_000).default(21_600_000),
  KEYGUARD_MARKET_FEED_CONFIG: z.string().min(1).optional(),
  KEYGUARD_COLLECT_CONFIG: z.string().min(1).optional(),
  KEYGUARD_WEBHOOKS_CONFIG: z.string().min(1).optional(),
  KEYGUARD_WEBHOOKS_GROUP_ID: z.string().min(1).default('keyguard-webhooks'),
  KEYGUARD_WEBHOOKS_DRY_RUN: z
    .enum(['true', 'false', '1', '0'])
    .default('false')
    .transform((v) => v === 'true' || v === '1'),
  KEYGUARD_TOPIC_WEBHOOK_RETRY: z.string().min(1).default('keyguard.webhooks.retry'),
  KEYGUARD_TOPIC_WEBHOOK_DEAD_LETTER: z.string().min(1).default('keyguard.webhooks.dead-letter'),
});

export type RuntimeEnv = z.infer<typeof runtimeEnvSchema>;
export const RUNTIME_ENV_VARS = Object.keys(runtimeEnvSchema.shape) as Array<keyof RuntimeEnv>;

export function loadRuntimeEnv(env: NodeJS.ProcessEnv = process.env): RuntimeEnv {
  const picked: Record<string, string> = {};
  for (const name of RUNTIME_ENV_VARS) {
    const value = env[name];
    if (value !== undefined && value !== '') picked[name] = value;
  }
  const parsed = runtimeEnvSchema.safeParse(picked);
  if (!parsed.success) {
    const lines = parsed.error.issues.map(
      (i) => `  ${String(i.path[0])}=${JSON.stringify(picked[String(i.path[0])])}: ${i.message}`,
    );
    throw new ConfigError(`invalid environment:\n${lines.join('\n')}`);
  }
  return parsed.data;
}
