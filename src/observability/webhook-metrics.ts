/**
 * Prometheus metrics of the webhook dispatcher (`keyguard webhooks`). Endpoint ids are configured,
 * so they are a bounded label; recommendation or account ids never are.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Label values of keyguard_webhook_attempts_total's `result`. */
export const ATTEMPT_RESULTS = ['2xx', '3xx', '4xx', '5xx', 'timeout', 'network'] as const;
export type AttemptResultLabel = (typeof ATTEMPT_RESULTS)[number];

/** Label values of keyguard_webhook_deliveries_total's `outcome`. */
export const DELIVERY_OUTCOMES = [
  'delivered',
  'gave_up',
  'endpoint_disabled',
  'dry_run',
  'filtered_by_breaker',
] as const;
export type DeliveryOutcome = (typeof DELIVERY_OUTCOMES)[number];

/** The dispatcher's stages that retry on a Kafka or Redis failure. */
export const DISPATCH_STAGES = ['breaker', 'publish', 'schedule retry', 'commit offsets'] as const;

export class WebhookMetrics {
  readonly registry = new Registry();

  readonly recommendationsConsumed = new Counter({
    name: 'keyguard_webhook_recommendations_consumed_total',
    help: 'Recommendation records consumed by the dispatcher ("invalid": undecodable, dead-lettered)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly deliveries = new Counter({
    name: 'keyguard_webhook_deliveries_total',
    help: 'Deliveries finished, by endpoint and outcome',
    labelNames: ['endpoint', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly attempts = new Counter({
    name: 'keyguard_webhook_attempts_total',
    help: 'HTTP attempts, by endpoint and result (status class, timeout, network)',
    labelNames: ['endpoint', 'result'] as const,
    registers: [this.registry],
  });

  readonly retriesScheduled = new Counter({
    name: 'keyguard_webhook_retries_scheduled_total',
    help: 'Deliveries written to the retry topic to be tried again later, by endpoint',
    labelNames: ['endpoint'] as const,
    registers: [this.registry],
  });

  readonly attemptDuration = new Histogram({
    name: 'keyguard_webhook_attempt_duration_seconds',
    help: 'HTTP attempt duration, by endpoint',
    labelNames: ['endpoint'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly publishToDelivered = new Histogram({
    name: 'keyguard_webhook_publish_to_delivered_seconds',
    help: 'From the recommendation being appended to Kafka to the endpoint accepting it (2xx)',
    labelNames: ['endpoint'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });

  readonly pending = new Gauge({
    name: 'keyguard_webhook_pending_deliveries',
    help: 'Deliveries in flight or waiting for their retry time in this dispatcher',
    registers: [this.registry],
  });

  readonly endpointDisabled = new Gauge({
    name: 'keyguard_webhook_endpoint_disabled',
    help: '1 while an endpoint is disabled (it answered 410 Gone)',
    labelNames: ['endpoint'] as const,
    registers: [this.registry],
  });

  /** Wall-clock ms until which the breaker is open (the dispatcher maps its event-time window here). */
  breakerOpenUntil = 0;

  readonly breakerOpen = new Gauge({
    name: 'keyguard_webhook_breaker_open',
    help: '1 while the revocation circuit breaker holds automatic actions back as reviews',
    registers: [this.registry],
    collect: () => {
      this.breakerOpen.set(Date.now() < this.breakerOpenUntil ? 1 : 0);
    },
  });

  readonly breakerTrips = new Counter({
    name: 'keyguard_webhook_breaker_trips_total',
    help: 'Times the revocation circuit breaker tripped (announced by a platform alert)',
    registers: [this.registry],
  });

  readonly downgraded = new Counter({
    name: 'keyguard_webhook_downgraded_total',
    help: 'Automatic-action recommendations turned into reviews by the breaker, by original recommendation',
    labelNames: ['recommendation'] as const,
    registers: [this.registry],
  });

  readonly deadLetters = new Counter({
    name: 'keyguard_webhook_dead_letters_total',
    help: 'Records written to the webhook dead-letter topic, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly retries = new Counter({
    name: 'keyguard_webhook_stage_retries_total',
    help: "Retries of the dispatcher's own Kafka/Redis steps after a failure, by stage",
    labelNames: ['stage'] as const,
    registers: [this.registry],
  });

  readonly redisRoundTrip = new Histogram({
    name: 'keyguard_webhook_redis_round_trip_seconds',
    help: 'Redis round trips of the dispatcher, by operation',
    labelNames: ['operation'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
    registers: [this.registry],
  });

  readonly redisErrors = new Counter({
    name: 'keyguard_webhook_redis_errors_total',
    help: 'Failed Redis round trips of the dispatcher, by operation',
    labelNames: ['operation'] as const,
    registers: [this.registry],
  });

  constructor(endpointIds: readonly string[], defaults = true) {
    if (defaults) collectDefaultMetrics({ register: this.registry });
    for (const endpoint of endpointIds) {
      for (const outcome of DELIVERY_OUTCOMES) this.deliveries.inc({ endpoint, outcome }, 0);
      for (const result of ATTEMPT_RESULTS) this.attempts.inc({ endpoint, result }, 0);
      this.retriesScheduled.inc({ endpoint }, 0);
      this.endpointDisabled.set({ endpoint }, 0);
    }
    for (const result of ['valid', 'invalid']) this.recommendationsConsumed.inc({ result }, 0);
    for (const recommendation of ['revoke_key', 'freeze_account']) this.downgraded.inc({ recommendation }, 0);
    for (const reason of ['invalid_record', 'gave_up', 'endpoint_disabled'])
      this.deadLetters.inc({ reason }, 0);
    for (const stage of DISPATCH_STAGES) this.retries.inc({ stage }, 0);
    this.redisErrors.inc({ operation: 'breaker' }, 0);
    this.pending.set(0);
  }
}
