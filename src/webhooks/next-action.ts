/**
 * What to do with a delivery — before an attempt (is there anything to attempt?) and after one
 * (delivered, disable the endpoint, retry later, give up). Pure: the dispatcher carries out the
 * action (metrics, logs, Kafka writes); the branches are unit-tested here.
 */
import { ErrorCodes } from '../errors.js';
import type { Delivery } from './delivery.js';
import type { AttemptResult } from './http-attempt.js';
import { nextStep } from './retry-schedule.js';
import type { Endpoint, WebhookConfig } from './webhook-config.js';

/** A delivery that ends on the webhook dead-letter topic, with its code and metric reason. */
export interface DeadLetterAction {
  kind: 'dead_letter';
  delivery: Delivery;
  code: typeof ErrorCodes.WEBHOOK_GAVE_UP | typeof ErrorCodes.WEBHOOK_ENDPOINT_DISABLED;
  reason: 'gave_up' | 'endpoint_disabled';
  detail: string;
}

export type BeforeAttempt =
  | DeadLetterAction
  | { kind: 'dry_run' }
  | { kind: 'park'; delivery: Delivery; why: string }
  | { kind: 'attempt'; endpoint: Endpoint };

export interface EndpointView {
  endpoint: Endpoint | undefined;
  /** Why the endpoint is disabled (410 Gone), if it is. */
  disabledWhy: string | undefined;
  /** The endpoint's lane has no room: parking beats holding up the other endpoints. */
  laneFull: boolean;
}

export function beforeAttempt(
  d: Delivery,
  view: EndpointView,
  cfg: WebhookConfig,
  now: number,
): BeforeAttempt {
  const { endpoint } = view;
  if (!endpoint)
    return {
      kind: 'dead_letter',
      delivery: d,
      code: ErrorCodes.WEBHOOK_GAVE_UP,
      reason: 'gave_up',
      detail: `endpoint ${d.endpointId} is no longer configured`,
    };
  if (endpoint.dryRun) return { kind: 'dry_run' };
  if (view.disabledWhy)
    return {
      kind: 'dead_letter',
      delivery: d,
      code: ErrorCodes.WEBHOOK_ENDPOINT_DISABLED,
      reason: 'endpoint_disabled',
      detail: `endpoint disabled: ${view.disabledWhy}`,
    };
  if (view.laneFull)
    return { kind: 'park', delivery: { ...d, dueAt: now + cfg.retry.initialDelayMs }, why: 'endpoint busy' };
  return { kind: 'attempt', endpoint };
}

export type AfterAttempt =
  | { kind: 'delivered' }
  /** 410 Gone: disable the endpoint, then dead-letter the delivery. */
  | { kind: 'disable'; why: string; deadLetter: DeadLetterAction }
  | (DeadLetterAction & { error: string; why: string })
  | { kind: 'retry'; delivery: Delivery; delayMs: number; error: string };

/** The outcome of an attempt, as the next thing to do. `random` is the retry jitter's source. */
export function nextAction(
  result: AttemptResult,
  d: Delivery,
  cfg: WebhookConfig,
  now: number,
  random: () => number = Math.random,
): AfterAttempt {
  if (result.outcome === 'delivered') return { kind: 'delivered' };
  if (result.outcome === 'gone') {
    const why = `410 Gone at ${new Date(now).toISOString()}`;
    return {
      kind: 'disable',
      why,
      deadLetter: {
        kind: 'dead_letter',
        delivery: d,
        code: ErrorCodes.WEBHOOK_ENDPOINT_DISABLED,
        reason: 'endpoint_disabled',
        detail: `endpoint disabled: ${why}`,
      },
    };
  }
  const attempts = d.attempts + 1;
  const failed = { ...d, attempts, lastError: result.error };
  const step = nextStep(cfg.retry, attempts, d.firstSeenAt, now, result.retryAfterMs, random);
  if (step.kind === 'give_up')
    return {
      kind: 'dead_letter',
      delivery: failed,
      code: ErrorCodes.WEBHOOK_GAVE_UP,
      reason: 'gave_up',
      detail: `${step.reason}; last error: ${result.error}`,
      error: result.error,
      why: step.reason,
    };
  return {
    kind: 'retry',
    delivery: { ...failed, dueAt: now + step.delayMs },
    delayMs: step.delayMs,
    error: result.error,
  };
}
