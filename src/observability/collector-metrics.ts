/** Prometheus metrics of `keyguard collect`. Exchanges are configured: a bounded label; keys are not labels. */
import { Counter, collectDefaultMetrics, Registry } from 'prom-client';

export class CollectorMetrics {
  readonly registry = new Registry();

  readonly requests = new Counter({
    name: 'keyguard_collector_requests_total',
    help: 'ccxt requests for connected keys, by exchange, method and result (ok, retried, failed)',
    labelNames: ['exchange', 'method', 'result'] as const,
    registers: [this.registry],
  });

  readonly events = new Counter({
    name: 'keyguard_collector_events_total',
    help: 'Contract events published from connected keys, by exchange and kind (order, fill, invalid)',
    labelNames: ['exchange', 'kind'] as const,
    registers: [this.registry],
  });

  constructor(exchanges: readonly string[], defaults = true) {
    if (defaults) collectDefaultMetrics({ register: this.registry });
    for (const exchange of new Set(exchanges)) {
      for (const method of ['fetchMyTrades', 'fetchOrders'])
        for (const result of ['ok', 'retried', 'failed']) this.requests.inc({ exchange, method, result }, 0);
      for (const kind of ['order', 'fill', 'invalid']) this.events.inc({ exchange, kind }, 0);
    }
  }
}
