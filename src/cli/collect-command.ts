import { credentialsFor, loadCollectConfig } from '../collector/collect-config.js';
import { CursorStore } from '../collector/cursor-store.js';
import { KeyCollector } from '../collector/key-collector.js';
import { KafkaPollPublisher } from '../collector/poll-publisher.js';
import type { RuntimeEnv } from '../config/runtime.js';
import { ConfigError } from '../errors.js';
import { venueClient } from '../ingest/ccxt-client.js';
import { kafkaConnection } from '../kafka/connection.js';
import { createMissingTopics, topicLayout } from '../kafka/topics.js';
import type { Logger } from '../logger.js';
import { CollectorMetrics } from '../observability/collector-metrics.js';
import { startOpsServer } from '../observability/http-server.js';
import { RetryAbandoned } from '../pipeline/retry.js';
import { redisConnection } from '../state/redis-connection.js';
import { untilSignalled } from './shutdown.js';

export async function collectCommand(env: RuntimeEnv, log: Logger): Promise<number> {
  if (!env.KAFKA_BROKERS || !env.REDIS_URL || !env.KEYGUARD_COLLECT_CONFIG) {
    throw new ConfigError('the collector needs KAFKA_BROKERS, REDIS_URL and KEYGUARD_COLLECT_CONFIG');
  }
  const cfg = loadCollectConfig(env.KEYGUARD_COLLECT_CONFIG);
  const credentials = cfg.keys.map((k) => credentialsFor(k, process.env));
  const clog = log.child({ module: 'collector' });
  const metrics = new CollectorMetrics(cfg.keys.map((k) => k.exchange));
  const redis = redisConnection(env.REDIS_URL);
  redis.on('error', (err) => clog.warn({ err: err.message }, 'redis connection error'));
  const cursors = new CursorStore(redis, env.KEYGUARD_REDIS_PREFIX);
  const kafka = kafkaConnection(env.KAFKA_BROKERS, env, log);
  await createMissingTopics(kafka, [env.KEYGUARD_TOPIC_ORDERS, env.KEYGUARD_TOPIC_FILLS], topicLayout(env));
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  let stopping = false;
  const publisher = new KafkaPollPublisher(kafka, producer, env, () => stopping);
  const collectors = cfg.keys.map((key, i) => {
    const creds = credentials[i]!;
    const venue = {
      exchange: key.exchange,
      symbols: key.symbols,
      ccxt: {},
      markets: 'load' as const,
      ...cfg.venues[key.exchange],
    };
    const secrets = [creds.apiKey, creds.secret, ...(creds.password ? [creds.password] : [])];
    return new KeyCollector(
      venueClient(venue, creds),
      key,
      cursors,
      publisher,
      metrics,
      cfg.retry,
      clog.child({ exchange: key.exchange, apiKeyId: key.apiKeyId }),
      secrets,
    );
  });
  const loops = collectors.map(async (c) => {
    while (!stopping) {
      const started = Date.now();
      try {
        await c.pollOnce();
      } catch (err) {
        // Redis or Kafka out: the cursor did not move, the next poll redoes the round.
        if (!(err instanceof RetryAbandoned))
          clog.error({ err: (err as Error).message }, 'poll failed, will retry');
      }
      const wait = cfg.pollIntervalMs - (Date.now() - started);
      for (let waited = 0; waited < wait && !stopping; waited += 100)
        await new Promise((r) => setTimeout(r, 100));
    }
  });
  const ops = await startOpsServer(env.KEYGUARD_METRICS_PORT, metrics.registry, async () => ({
    ready: !stopping && redis.status === 'ready',
    detail: { keys: cfg.keys.length, redis: redis.status },
  }));
  clog.info(
    {
      keys: cfg.keys.map((k) => ({ exchange: k.exchange, apiKeyId: k.apiKeyId, symbols: k.symbols })),
      port: ops.port,
    },
    'collector started',
  );
  return untilSignalled(
    log,
    async () => {
      stopping = true;
      for (const c of collectors) c.stop();
      await Promise.all(loops);
      await publisher.close();
      await producer.disconnect();
      redis.disconnect();
      await ops.close();
    },
    () => ({}),
  );
}
