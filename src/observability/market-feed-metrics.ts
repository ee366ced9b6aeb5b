/** Prometheus metrics of `keyguard market-feed`. Exchanges are configured, so a bounded label. */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export const FEED_METHODS = ['fetchTicker', 'fetchTrades'] as const;
export const FEED_RESULTS = ['ok', 'retried', 'failed'] as const;

export class MarketFeedMetrics {
  readonly registry = new Registry();

  readonly requests = new Counter({
    name: 'keyguard_market_feed_requests_total',
    help: 'ccxt requests, by exchange, method and result (retried: failed and tried again; failed: given up until the next poll)',
    labelNames: ['exchange', 'method', 'result'] as const,
    registers: [this.registry],
  });

  readonly events = new Counter({
    name: 'keyguard_market_feed_events_total',
    help: 'Market events published, by exchange and kind',
    labelNames: ['exchange', 'kind'] as const,
    registers: [this.registry],
  });

  readonly lastPoll = new Gauge({
    name: 'keyguard_market_feed_last_poll_timestamp_seconds',
    help: 'When a poll of the exchange last completed with every symbol answered',
    labelNames: ['exchange'] as const,
    registers: [this.registry],
  });

  readonly pollDuration = new Histogram({
    name: 'keyguard_market_feed_poll_duration_seconds',
    help: 'Time to poll every symbol of an exchange once (rate limiting included)',
    labelNames: ['exchange'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  constructor(exchanges: readonly string[], defaults = true) {
    if (defaults) collectDefaultMetrics({ register: this.registry });
    for (const exchange of exchanges) {
      for (const method of FEED_METHODS)
        for (const result of FEED_RESULTS) this.requests.inc({ exchange, method, result }, 0);
      for (const kind of ['ticker', 'trade']) this.events.inc({ exchange, kind }, 0);
    }
  }
}
