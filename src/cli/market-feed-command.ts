import type { RuntimeEnv } from '../config/runtime.js';
import { ConfigError } from '../errors.js';
import type { MarketEvent } from '../events/schema.js';
import { venueClient } from '../ingest/ccxt-client.js';
import { kafkaConnection } from '../kafka/connection.js';
import { createMissingTopics, topicLayout } from '../kafka/topics.js';
import type { Logger } from '../logger.js';
import { loadMarketFeedConfig } from '../market-data/feed-config.js';
import { VenuePoller } from '../market-data/venue-poller.js';
import { startOpsServer } from '../observability/http-server.js';
import { MarketFeedMetrics } from '../observability/market-feed-metrics.js';
import { retryUntilDone } from '../pipeline/retry.js';
import { untilSignalled } from './shutdown.js';

export async function marketFeedCommand(env: RuntimeEnv, log: Logger): Promise<number> {
  if (!env.KAFKA_BROKERS || !env.KEYGUARD_MARKET_FEED_CONFIG) {
    throw new ConfigError('the market feed needs KAFKA_BROKERS and KEYGUARD_MARKET_FEED_CONFIG');
  }
  const cfg = loadMarketFeedConfig(env.KEYGUARD_MARKET_FEED_CONFIG);
  const feedLog = log.child({ module: 'market-feed' });
  const metrics = new MarketFeedMetrics(cfg.venues.map((v) => v.exchange));
  const kafka = kafkaConnection(env.KAFKA_BROKERS, env, log);
  await createMissingTopics(kafka, [env.KEYGUARD_TOPIC_MARKET], topicLayout(env));
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  let stopping = false;
  const publish = (events: MarketEvent[]) =>
    retryUntilDone(
      () =>
        producer.send({
          topic: env.KEYGUARD_TOPIC_MARKET,
          acks: -1,
          messages: events.map((e) => ({ key: `${e.exchange}:${e.symbol}`, value: JSON.stringify(e) })),
        }),
      {
        minDelayMs: 200,
        maxDelayMs: 5000,
        shouldContinue: () => !stopping,
        onRetry: (err, attempt) =>
          feedLog.warn({ err: (err as Error).message, attempt }, 'publish failed, retrying'),
      },
    ).then(() => undefined);
  const pollers = cfg.venues.map(
    (v) =>
      new VenuePoller(
        venueClient(v),
        v,
        cfg.retry,
        publish,
        metrics,
        feedLog.child({ exchange: v.exchange }),
      ),
  );
  const ops = await startOpsServer(env.KEYGUARD_METRICS_PORT, metrics.registry, async () => ({
    ready: !stopping,
    detail: { venues: cfg.venues.map((v) => v.exchange) },
  }));
  const loops = pollers.map((p) =>
    p.run().catch((err) => feedLog.error({ err: (err as Error).message }, 'venue loop ended')),
  );
  feedLog.info(
    { venues: cfg.venues.map((v) => ({ exchange: v.exchange, symbols: v.symbols })), port: ops.port },
    'market feed started',
  );
  return untilSignalled(
    log,
    async () => {
      stopping = true;
      for (const p of pollers) p.stop();
      await Promise.all(loops);
      await producer.disconnect();
      await ops.close();
    },
    () => ({}),
  );
}
