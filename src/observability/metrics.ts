/**
 * Prometheus metrics of a keyguard process. Names follow Prometheus conventions (unit suffixes,
 * `_total` counters); label sets are bounded (topic, partition, kind, code, severity, detector,
 * recommendation, stage) — never an account or key id. One registry per process, built by the
 * composition root and handed to the parts that report.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { ErrorCodes } from '../errors.js';
import { detectorNames, severitySchema } from '../events/schema.js';

/** The worker's pipeline stages that retry (label values of keyguard_retries_total). */
export const RETRY_STAGES = [
  'wait for config',
  'wait for market',
  'evaluate',
  'publish',
  'save baselines',
  'commit offsets',
] as const;

export class WorkerMetrics {
  readonly registry = new Registry();

  readonly eventsConsumed = new Counter({
    name: 'keyguard_events_consumed_total',
    help: 'Input records consumed, by topic and event kind ("invalid" when undecodable)',
    labelNames: ['topic', 'kind'] as const,
    registers: [this.registry],
  });

  readonly deadLetters = new Counter({
    name: 'keyguard_dead_letters_total',
    help: 'Records sent to the dead-letter topic, by error code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });

  readonly alerts = new Counter({
    name: 'keyguard_alerts_total',
    help: 'Alerts published, by severity and recommendation',
    labelNames: ['severity', 'recommendation'] as const,
    registers: [this.registry],
  });

  readonly symbolAlerts = new Counter({
    name: 'keyguard_symbol_alerts_total',
    help: 'Alerts published about a market symbol (the label is bounded by the markets that raise alerts)',
    labelNames: ['symbol'] as const,
    registers: [this.registry],
  });

  readonly signals = new Counter({
    name: 'keyguard_alert_signals_total',
    help: 'Detector signals carried by published alerts, by detector',
    labelNames: ['detector'] as const,
    registers: [this.registry],
  });

  readonly valueAtRisk = new Counter({
    name: 'keyguard_alert_value_at_risk_total',
    help: 'Sum of the value at risk of published alerts, by quote currency',
    labelNames: ['currency'] as const,
    registers: [this.registry],
  });

  readonly eventToAlert = new Histogram({
    name: 'keyguard_event_to_alert_seconds',
    help: 'From the event time of the event that raised an alert to the alert being published',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });

  readonly appendToAlert = new Histogram({
    name: 'keyguard_kafka_append_to_alert_seconds',
    help: 'From the Kafka timestamp of the record that raised an alert to the alert being published',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly appendToProcessed = new Histogram({
    name: 'keyguard_kafka_append_to_processed_seconds',
    help: 'From the Kafka timestamp of each account record to its batch being done (alerts acked, baselines saved, offsets committed): the time to alert had it raised one',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 0.75, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly batchSize = new Histogram({
    name: 'keyguard_batch_records',
    help: 'Records processed per batch',
    buckets: [1, 10, 50, 100, 250, 500, 1000, 2500, 5000],
    registers: [this.registry],
  });

  readonly batchDuration = new Histogram({
    name: 'keyguard_batch_duration_seconds',
    help: 'Time to process one batch, from merge to committed offsets',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly redisRoundTrip = new Histogram({
    name: 'keyguard_redis_round_trip_seconds',
    help: 'Redis pipeline round trips, by operation',
    labelNames: ['operation'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
    registers: [this.registry],
  });

  readonly stateResets = new Counter({
    name: 'keyguard_state_reset_total',
    help: 'Times the baselines in Redis were found lost (the state epoch missing or changed): accounts look new until they are rebuilt',
    registers: [this.registry],
  });

  readonly redisErrors = new Counter({
    name: 'keyguard_redis_errors_total',
    help: 'Failed Redis round trips, by operation, and connection errors (operation="connection")',
    labelNames: ['operation'] as const,
    registers: [this.registry],
  });

  readonly retries = new Counter({
    name: 'keyguard_retries_total',
    help: 'Retries after a failure, by pipeline stage',
    labelNames: ['stage'] as const,
    registers: [this.registry],
  });

  readonly consumerLag = new Gauge({
    name: 'keyguard_consumer_lag_records',
    help: 'Records between the last processed offset and the partition end, as of the last fetch',
    labelNames: ['topic', 'partition'] as const,
    registers: [this.registry],
  });

  readonly pausedPartitions = new Gauge({
    name: 'keyguard_paused_partitions',
    help: 'Partitions paused while a failure is retried',
    registers: [this.registry],
  });

  readonly marketWaitTimeouts = new Counter({
    name: 'keyguard_market_wait_timeouts_total',
    help: 'Batches scored before the market stream reached their event time (wait timed out)',
    registers: [this.registry],
  });

  readonly campaignObservations = new Counter({
    name: 'keyguard_campaign_observations_total',
    help: 'First buys and anomalous labelled keys published to the campaign aggregator',
    registers: [this.registry],
  });

  readonly campaignBatches = new Counter({
    name: 'keyguard_campaign_batches_total',
    help: 'Observation batches the campaign aggregator has processed (published, saved, committed)',
    registers: [this.registry],
  });

  readonly configVersion = new Gauge({
    name: 'keyguard_config_version_info',
    help: 'The detection config version with the latest effectiveFrom this worker knows (1), by version and its effectiveFrom (epoch ms)',
    labelNames: ['version', 'effective_from'] as const,
    registers: [this.registry],
  });

  readonly configRecords = new Counter({
    name: 'keyguard_config_records_total',
    help: 'Config topic records read: applied, repeated (already known), refused (invalid; the running versions stay)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly configReadAt = new Gauge({
    name: 'keyguard_config_read_timestamp_seconds',
    help: 'When the worker last read the config topic to its end (live events wait for it once it is KEYGUARD_CONFIG_LEAD_MS old)',
    registers: [this.registry],
  });

  constructor(defaults = true) {
    if (defaults) collectDefaultMetrics({ register: this.registry });
    // Known label values start at 0, so dashboards and alert rules see a series before the first event.
    for (const severity of severitySchema.options) {
      for (const recommendation of ['review', 'revoke_key', 'freeze_account'])
        this.alerts.inc({ severity, recommendation }, 0);
    }
    for (const detector of detectorNames) this.signals.inc({ detector }, 0);
    // increase() cannot see a series' first value: start the usual quote currencies at 0.
    for (const currency of ['BTC', 'ETH', 'BNB', 'USDT', 'USDC', 'FDUSD', 'USD', 'EUR'])
      this.valueAtRisk.inc({ currency }, 0);
    for (const code of Object.values(ErrorCodes).filter(
      (c) => c.startsWith('KG_ERR_EVENT') || c === ErrorCodes.DETECTOR_FAILED,
    )) {
      this.deadLetters.inc({ code }, 0);
    }
    for (const operation of ['load', 'save', 'connection']) this.redisErrors.inc({ operation }, 0);
    for (const stage of RETRY_STAGES) this.retries.inc({ stage }, 0);
    for (const result of ['applied', 'repeated', 'refused']) this.configRecords.inc({ result }, 0);
  }
}
