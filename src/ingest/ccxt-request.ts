/**
 * One ccxt call with retries for the errors retrying can fix — ccxt's NetworkError family:
 * timeouts, 429 (RateLimitExceeded, DDoSProtection), 5xx (ExchangeNotAvailable) — with backoff;
 * other errors (bad symbol, authentication) are not retried. Gives `undefined` when it gives up,
 * after counting and logging (error messages are stripped of anything credential-like).
 */
import ccxt from 'ccxt';
import type { Counter } from 'prom-client';
import type { Logger } from '../logger.js';
import { RetryAbandoned, retryUntilDone } from '../pipeline/retry.js';

export interface RequestPolicy {
  initialDelayMs: number;
  maxDelayMs: number;
  attempts: number;
}

/** ccxt puts the signed URL (and sometimes headers) in its error messages. */
export function scrubbed(message: string, secrets: readonly string[] = []): string {
  let out = message.replace(/(signature|apiKey|api_key|passphrase|secret)=([^&\s"']+)/gi, '$1=[redacted]');
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('[redacted]');
  return out.slice(0, 400);
}

export async function ccxtRequest<T>(
  labels: { exchange: string; method: string },
  call: () => Promise<T>,
  policy: RequestPolicy,
  isStopped: () => boolean,
  requests: Counter<'exchange' | 'method' | 'result'>,
  log: Logger,
  secrets: readonly string[] = [],
): Promise<T | undefined> {
  let attempts = 0;
  try {
    const value = await retryUntilDone(
      () => {
        attempts++;
        return call();
      },
      {
        minDelayMs: policy.initialDelayMs,
        maxDelayMs: policy.maxDelayMs,
        shouldContinue: () => !isStopped() && attempts < policy.attempts,
        giveUpOn: (err) => !(err instanceof ccxt.NetworkError),
        onRetry: (err, attempt, delayMs) => {
          requests.inc({ ...labels, result: 'retried' });
          log.warn(
            { ...labels, attempt, delayMs, err: scrubbed((err as Error).message, secrets) },
            'exchange request failed, retrying',
          );
        },
      },
    );
    requests.inc({ ...labels, result: 'ok' });
    return value;
  } catch (err) {
    const cause = (err instanceof RetryAbandoned ? err.lastError : err) as Error | undefined;
    requests.inc({ ...labels, result: 'failed' });
    log.error(
      {
        ...labels,
        err: scrubbed(cause?.message ?? String(cause), secrets),
        errorClass: cause?.constructor?.name,
      },
      'exchange request failed; the next poll tries again',
    );
    return undefined;
  }
}
