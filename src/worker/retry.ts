/**
 * The one retry helper: exponential backoff with full jitter, forever while `shouldContinue()`
 * (an outage pauses the pipeline, it never skips input). Gives up only when told to stop (shutdown,
 * or a rebalance took the partition away: the new owner redoes the batch).
 */
export interface RetryOptions {
  minDelayMs: number;
  maxDelayMs: number;
  shouldContinue: () => boolean;
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void | Promise<void>;
  sleep?: (ms: number) => Promise<void>;
}

export class RetryAbandoned extends Error {
  constructor(readonly lastError: unknown) {
    super(`gave up retrying: ${(lastError as Error)?.message ?? String(lastError)}`);
    this.name = 'RetryAbandoned';
  }
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function retryUntilDone<T>(fn: () => Promise<T>, opts: RetryOptions): Promise<T> {
  const sleep = opts.sleep ?? defaultSleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!opts.shouldContinue()) throw new RetryAbandoned(err);
      const cap = Math.min(opts.maxDelayMs, opts.minDelayMs * 2 ** Math.min(attempt - 1, 16));
      const delay = Math.round(cap / 2 + (Math.random() * cap) / 2);
      await opts.onRetry?.(err, attempt, delay);
      await sleep(delay);
      if (!opts.shouldContinue()) throw new RetryAbandoned(err);
    }
  }
}
