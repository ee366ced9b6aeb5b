/**
 * Announces a trip of the revocation circuit breaker once: a platform-level alert on the alerts
 * topic (its id derives from the trip, so every dispatcher publishes the same one), then the trip
 * marked as announced in Redis. Partitions are processed concurrently, so the trips this process
 * is announcing are remembered here too.
 */
import { createHash } from 'node:crypto';
import type { Alert } from '../events/schema.js';
import type { Logger } from '../logger.js';
import type { WebhookMetrics } from '../observability/webhook-metrics.js';
import type { BatchState, BreakerTrip } from './dispatch-state.js';
import type { WebhookConfig } from './webhook-config.js';

/** The platform-level alert announcing a breaker trip; its id is stable, so every dispatcher publishes the same one. */
export function breakerAlert(trip: BreakerTrip, cfg: WebhookConfig['breaker']): Alert {
  const alertId = createHash('sha256')
    .update(`revocation_breaker\n${trip.trippedAt}`)
    .digest('hex')
    .slice(0, 32);
  return {
    alertId,
    exchange: '*',
    accountId: '*',
    timestamp: trip.trippedAt,
    severity: 'critical',
    score: 1,
    recommendation: 'review',
    scope: 'platform',
    signals: [
      {
        detector: 'revocation_breaker',
        score: 1,
        evidence: {
          summary: `${trip.actionsInWindow} automatic-action recommendations (${cfg.recommendations.join(', ')}) within ${cfg.windowMs / 1000} s, more than the ${cfg.maxActions} allowed: a bad rule or a market-wide event. Webhooks send them as reviews until ${new Date(trip.openUntil).toISOString()} (event time); check the alerts before acting.`,
          actionsInWindow: trip.actionsInWindow,
          maxActions: cfg.maxActions,
          windowSeconds: cfg.windowMs / 1000,
          openUntil: new Date(trip.openUntil).toISOString(),
        },
      },
    ],
    eventIds: [],
  };
}

export interface BreakerAnnouncerDeps {
  cfg: WebhookConfig['breaker'];
  metrics: WebhookMetrics;
  log: Logger;
  /** Publishes the alert with the broker's ack (retried by the caller's stage). */
  publishAlert: (alert: Alert) => Promise<void>;
  markAnnounced: (trippedAt: number) => Promise<void>;
}

export class BreakerAnnouncer {
  private readonly announcing = new Set<number>();

  constructor(private readonly deps: BreakerAnnouncerDeps) {}

  /** `newest`: the event time of the batch's newest recommendation (maps event time to the wall clock). */
  async announce(state: BatchState, newest: number): Promise<void> {
    const { trip } = state;
    if (!trip) return;
    // The breaker runs on event time; the gauge maps it to the wall clock through the current lag.
    const m = this.deps.metrics;
    m.breakerOpenUntil = Math.max(m.breakerOpenUntil, trip.openUntil + (Date.now() - newest));
    if (trip.announced || this.announcing.has(trip.trippedAt)) return;
    this.announcing.add(trip.trippedAt);
    const alert = breakerAlert(trip, this.deps.cfg);
    await this.deps.publishAlert(alert);
    await this.deps.markAnnounced(trip.trippedAt);
    m.breakerTrips.inc();
    this.deps.log.error(
      { alertId: alert.alertId, actionsInWindow: trip.actionsInWindow, openUntil: trip.openUntil },
      'revocation circuit breaker tripped: automatic actions are sent as reviews',
    );
  }
}
