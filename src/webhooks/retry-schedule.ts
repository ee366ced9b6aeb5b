/**
 * When to try a failed delivery again: exponential backoff with jitter (half the step fixed, half
 * random, so a fleet of dispatchers does not retry in lock-step), never sooner than the receiver's
 * `Retry-After`; and when to give up. Pure: the caller supplies the clock and the randomness.
 */
import type { WebhookConfig } from './webhook-config.js';

export type RetryPolicy = WebhookConfig['retry'];

export type NextStep = { kind: 'retry'; delayMs: number } | { kind: 'give_up'; reason: string };

export function nextStep(
  policy: RetryPolicy,
  attempts: number,
  firstSeenAt: number,
  now: number,
  retryAfterMs: number | undefined,
  random: () => number = Math.random,
): NextStep {
  if (attempts >= policy.maxAttempts) return { kind: 'give_up', reason: `${attempts} attempts failed` };
  const step = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.min(attempts - 1, 30));
  let delayMs = Math.round(step / 2 + (random() * step) / 2);
  if (retryAfterMs !== undefined) delayMs = Math.max(delayMs, Math.min(retryAfterMs, policy.maxRetryAfterMs));
  if (now + delayMs - firstSeenAt > policy.giveUpAfterMs) {
    return { kind: 'give_up', reason: `still failing after ${Math.round((now - firstSeenAt) / 1000)} s` };
  }
  return { kind: 'retry', delayMs };
}

/** `Retry-After`: delay-seconds or an HTTP date. Anything else is ignored. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
