/**
 * Deliveries read back from the retry topic wait here for their due time. The wait is a timer;
 * the record's offset stays uncommitted until the delivery settles, so a restart reads it again
 * and schedules it anew. A rejoin drops every timer for the same reason.
 */
import type { WebhookMetrics } from '../observability/webhook-metrics.js';
import type { Delivery } from './delivery.js';

export class RetryScheduler {
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly metrics: WebhookMetrics) {}

  /** Calls `due` at the delivery's due time (at once when it is past). */
  schedule(delivery: Delivery, due: () => void): void {
    this.metrics.pending.inc();
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        this.metrics.pending.dec();
        due();
      },
      Math.max(0, delivery.dueAt - Date.now()),
    );
    this.timers.add(timer);
  }

  /** Forgets every waiting delivery (their records are read again). */
  clear(): void {
    this.metrics.pending.dec(this.timers.size);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
