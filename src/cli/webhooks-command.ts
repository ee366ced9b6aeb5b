import { parseArgs } from 'node:util';
import type { RuntimeEnv } from '../config/runtime.js';
import { ConfigError } from '../errors.js';
import { kafkaConnection } from '../kafka/connection.js';
import type { Logger } from '../logger.js';
import { startOpsServer } from '../observability/http-server.js';
import { WebhookMetrics } from '../observability/webhook-metrics.js';
import { redisConnection } from '../state/redis-connection.js';
import { WebhookDispatcher } from '../webhooks/dispatcher.js';
import { loadWebhookConfig } from '../webhooks/webhook-config.js';
import { untilSignalled } from './shutdown.js';

export async function webhooksCommand(argv: string[], env: RuntimeEnv, log: Logger): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { 'dry-run': { type: 'boolean' }, enable: { type: 'string' } },
    strict: true,
  });
  if (!env.KAFKA_BROKERS || !env.REDIS_URL || !env.KEYGUARD_WEBHOOKS_CONFIG) {
    throw new ConfigError(
      'the webhook dispatcher needs KAFKA_BROKERS, REDIS_URL and KEYGUARD_WEBHOOKS_CONFIG',
    );
  }
  const cfg = loadWebhookConfig(
    env.KEYGUARD_WEBHOOKS_CONFIG,
    process.env,
    values['dry-run'] === true || env.KEYGUARD_WEBHOOKS_DRY_RUN,
  );
  const redis = redisConnection(env.REDIS_URL);
  redis.on('error', (err) => log.warn({ err: err.message, module: 'redis' }, 'redis connection error'));
  const metrics = new WebhookMetrics(cfg.endpoints.map((e) => e.id));
  const dispatcher = new WebhookDispatcher({
    kafka: kafkaConnection(env.KAFKA_BROKERS, env, log),
    redis,
    env,
    cfg,
    metrics,
    log: log.child({ module: 'webhooks' }),
  });
  if (values.enable !== undefined) {
    if (!cfg.endpoints.some((e) => e.id === values.enable))
      throw new ConfigError(`no endpoint "${values.enable}" in ${env.KEYGUARD_WEBHOOKS_CONFIG}`);
    const was = await dispatcher.enableEndpoint(values.enable);
    log.info({ endpoint: values.enable, wasDisabled: was }, 'endpoint enabled');
    redis.disconnect();
    return 0;
  }
  const ops = await startOpsServer(env.KEYGUARD_METRICS_PORT, metrics.registry, () => dispatcher.readiness());
  log.info({ port: ops.port }, 'serving /metrics, /healthz, /readyz');
  const done = untilSignalled(
    log,
    async () => {
      await dispatcher.stop();
      redis.disconnect();
      await ops.close();
    },
    () => ({ stats: dispatcher.stats }),
  );
  await dispatcher.start();
  return done;
}
