import { campaignTtlSeconds, RedisCampaignStore } from '../campaign/campaign-store.js';
import type { DetectionConfig } from '../config/detection.js';
import type { RuntimeEnv } from '../config/runtime.js';
import { ConfigError } from '../errors.js';
import { kafkaConnection } from '../kafka/connection.js';
import type { Logger } from '../logger.js';
import { startOpsServer } from '../observability/http-server.js';
import { WorkerMetrics } from '../observability/metrics.js';
import { RedisBaselineStore } from '../state/redis-store.js';
import { CampaignAggregator } from '../worker/campaign-aggregator.js';
import { Worker } from '../worker/worker.js';
import { untilSignalled } from './shutdown.js';

export async function workerCommand(env: RuntimeEnv, cfg: DetectionConfig, log: Logger): Promise<number> {
  if (!env.KAFKA_BROKERS || !env.REDIS_URL) {
    throw new ConfigError('the worker needs KAFKA_BROKERS and REDIS_URL');
  }
  const kafka = kafkaConnection(env.KAFKA_BROKERS, env, log);
  const metrics = new WorkerMetrics();
  const redisLog = log.child({ module: 'redis' });
  // Both Redis clients report connection errors through pino and the errors counter.
  const onConnectionError = (err: Error) => {
    metrics.redisErrors.inc({ operation: 'connection' });
    redisLog.warn({ err: err.message }, 'redis connection error');
  };
  const replicaWait = {
    replicas: env.KEYGUARD_REDIS_WAIT_REPLICAS,
    timeoutMs: env.KEYGUARD_REDIS_WAIT_TIMEOUT_MS,
  };
  const store = new RedisBaselineStore({
    url: env.REDIS_URL,
    replicaWait,
    keyPrefix: env.KEYGUARD_REDIS_PREFIX,
    ttlSeconds: cfg.state.ttlSeconds,
    onRoundTrip: (operation, seconds, ok) => {
      metrics.redisRoundTrip.observe({ operation }, seconds);
      if (!ok) metrics.redisErrors.inc({ operation });
    },
    onConnectionError,
    onStateReset: (reset) => {
      metrics.stateResets.inc();
      redisLog.error(
        { ...reset, runbook: 'docs/operations.md: Runbook, KeyguardStateReset' },
        'baseline state was lost: every account looks new until its baselines are rebuilt',
      );
    },
  });
  const worker = new Worker({ kafka, env, cfg, store, metrics, log: log.child({ module: 'worker' }) });
  // The campaign aggregator: a second consumer group in the same process, on the re-keyed observations.
  const campaignStore = new RedisCampaignStore(
    env.REDIS_URL,
    env.KEYGUARD_REDIS_PREFIX,
    campaignTtlSeconds(cfg),
    {
      onRoundTrip: (operation, seconds, ok) => {
        metrics.redisRoundTrip.observe({ operation: `campaign ${operation}` }, seconds);
        if (!ok) metrics.redisErrors.inc({ operation: `campaign ${operation}` });
      },
      onConnectionError,
      replicaWait,
    },
  );
  const campaigns = cfg.campaign.enabled
    ? new CampaignAggregator({
        kafka,
        env,
        cfg,
        store: campaignStore,
        metrics,
        log: log.child({ module: 'campaigns' }),
      })
    : undefined;
  const persistence = await store.persistence();
  if (persistence === 'unknown')
    redisLog.info('could not read Redis persistence settings (CONFIG not allowed, or Redis not up yet)');
  else if (persistence !== 'aof')
    redisLog.warn(
      { persistence },
      'Redis keeps the baselines without an append-only file: a restart loses them (run it with appendonly yes, appendfsync everysec; docs/streaming-worker.md: State durability)',
    );
  const ops = await startOpsServer(env.KEYGUARD_METRICS_PORT, metrics.registry, () => worker.readiness());
  log.info({ port: ops.port }, 'serving /metrics, /healthz, /readyz');

  const done = untilSignalled(
    log,
    async () => {
      await worker.stop();
      await campaigns?.stop();
      await store.close();
      await campaignStore.close();
      await ops.close();
    },
    () => ({ stats: worker.stats, campaigns: campaigns?.stats }),
  );
  const startup = (async () => {
    await worker.start();
    await campaigns?.start();
  })();
  // A SIGTERM during start-up (waiting for Redis or the group coordinator) must still end the
  // process: whichever settles first decides.
  const first = await Promise.race([done.then((code) => ({ code })), startup.then(() => undefined)]);
  return first ? first.code : done;
}
