import { hostname } from 'node:os';
import { Kafka, logLevel } from 'kafkajs';
import type { DetectionConfig } from '../config/detection.js';
import type { RuntimeEnv } from '../config/runtime.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../logger.js';
import { startOpsServer } from '../observability/http-server.js';
import { WorkerMetrics } from '../observability/metrics.js';
import { RedisBaselineStore } from '../state/redis-store.js';
import { Worker } from '../worker/worker.js';

/** SIGTERM: finish the batch in flight, commit, exit; past this, exit anyway. */
export const SHUTDOWN_DEADLINE_MS = 10_000;

const KAFKA_LOG_LEVEL: Record<string, logLevel> = {
  error: logLevel.ERROR,
  warn: logLevel.WARN,
  info: logLevel.INFO,
  debug: logLevel.DEBUG,
};

export async function workerCommand(env: RuntimeEnv, cfg: DetectionConfig, log: Logger): Promise<number> {
  if (!env.KAFKA_BROKERS || !env.REDIS_URL) {
    throw new ConfigError('the worker needs KAFKA_BROKERS and REDIS_URL');
  }
  const kafkaLog = log.child({ module: 'kafkajs' });
  const kafka = new Kafka({
    clientId: `keyguard-${hostname()}-${process.pid}`,
    brokers: env.KAFKA_BROKERS.split(','),
    logLevel: KAFKA_LOG_LEVEL[env.LOG_LEVEL] ?? logLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }) => {
        const { message, ...rest } = entry;
        if (level <= logLevel.ERROR) kafkaLog.error(rest, message);
        else if (level <= logLevel.WARN) kafkaLog.warn(rest, message);
        else kafkaLog.debug(rest, message);
      },
    retry: { retries: 10, initialRetryTime: 200, maxRetryTime: 5000 },
  });
  const metrics = new WorkerMetrics();
  const store = new RedisBaselineStore({
    url: env.REDIS_URL,
    keyPrefix: env.KEYGUARD_REDIS_PREFIX,
    ttlSeconds: cfg.state.ttlSeconds,
    onRoundTrip: (operation, seconds, ok) => {
      metrics.redisRoundTrip.observe({ operation }, seconds);
      if (!ok) metrics.redisErrors.inc({ operation });
    },
  });
  store.redis.on('error', (err) => log.warn({ err: err.message, module: 'redis' }, 'redis connection error'));
  const worker = new Worker({ kafka, env, cfg, store, metrics, log: log.child({ module: 'worker' }) });
  const ops = await startOpsServer(env.KEYGUARD_METRICS_PORT, metrics.registry, () => worker.readiness());
  log.info({ port: ops.port }, 'serving /metrics, /healthz, /readyz');

  let stopping = false;
  const done = new Promise<number>((resolve) => {
    const shutdown = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'stopping: finishing the batch in flight');
      const force = setTimeout(() => {
        log.error('shutdown deadline passed, exiting');
        resolve(1);
      }, SHUTDOWN_DEADLINE_MS);
      force.unref();
      worker
        .stop()
        .then(() => store.close())
        .then(() => ops.close())
        .then(
          () => {
            log.info({ stats: worker.stats }, 'stopped');
            resolve(0);
          },
          (err) => {
            log.error({ err: (err as Error).message }, 'error while stopping');
            resolve(1);
          },
        );
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
  await worker.start();
  return done;
}
