/**
 * The one retry helper: exponential backoff with full jitter, forever while `shouldContinue()`
 * (an outage pauses the pipeline, it never skips input). Gives up only when told to stop (shutdown,
 * or a rebalance took the partition away: the new owner redoes the batch). A `KeyguardError` that
 * says it is not `retriable` is thrown at once: trying again cannot fix it.
 */
import { ErrorCodes, KeyguardError } from '../errors.js';

export interface RetryOptions {
  minDelayMs: number;
  maxDelayMs: number;
  shouldContinue: () => boolean;
  /** Errors that retrying cannot fix here (e.g. this member left the consumer group): give up at once. */
  giveUpOn?: (err: unknown) => boolean;
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void | Promise<void>;
  sleep?: (ms: number) => Promise<void>;
}

/** Retrying stopped before success (shutdown, a rebalance, `giveUpOn`); `lastError` is the last failure. */
export class RetryAbandoned extends KeyguardError {
  constructor(readonly lastError: unknown) {
    super(
      ErrorCodes.RETRY_ABANDONED,
      `gave up retrying: ${(lastError as Error)?.message ?? String(lastError)}`,
      {
        cause: lastError,
      },
    );
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
      if (err instanceof KeyguardError && !err.retriable) throw err;
      if (!opts.shouldContinue() || opts.giveUpOn?.(err)) throw new RetryAbandoned(err);
      const cap = Math.min(opts.maxDelayMs, opts.minDelayMs * 2 ** Math.min(attempt - 1, 16));
      const delay = Math.round(cap / 2 + (Math.random() * cap) / 2);
      await opts.onRetry?.(err, attempt, delay);
      await sleep(delay);
      if (!opts.shouldContinue()) throw new RetryAbandoned(err);
    }
  }
}

/** kafkajs' group-membership error types, and their messages (kafkajs may wrap the error and keep only the message). */
const MEMBERSHIP_ERRORS: Record<string, string> = {
  UNKNOWN_MEMBER_ID: 'The coordinator is not aware of this member',
  REBALANCE_IN_PROGRESS: 'The group is rebalancing, so a rejoin is needed',
  ILLEGAL_GENERATION: 'Specified group generation id is not valid',
  NOT_COORDINATOR_FOR_GROUP: 'This is not the correct coordinator for this group',
};

/**
 * The consumer is no longer a member of its group's current generation (the coordinator forgot it
 * after a broker restart, or a rebalance is under way), or its coordinator is gone (the broker died):
 * commits fail until kafkajs rejoins, which
 * it does only once an error of that type reaches it from the batch handler. Retrying in place
 * would wait forever. Returns the kafkajs error type, or undefined.
 */
export function groupMembershipError(err: unknown): string | undefined {
  for (
    let e = err as { type?: string; message?: string; cause?: unknown } | undefined, depth = 0;
    e && depth < 5;
    depth++
  ) {
    if (e.type && e.type in MEMBERSHIP_ERRORS) return e.type;
    // The coordinator's broker died and left the metadata: kafkajs keeps asking for it by id ("Broker
    // N not found in the cached metadata") and looks up the new coordinator only when it rejoins.
    if (
      (e as { name?: string }).name === 'KafkaJSBrokerNotFound' ||
      e.type === 'GROUP_COORDINATOR_NOT_AVAILABLE'
    )
      return 'NOT_COORDINATOR_FOR_GROUP';
    const byMessage = Object.entries(MEMBERSHIP_ERRORS).find(([, message]) => e?.message?.includes(message));
    if (byMessage) return byMessage[0];
    e = e.cause as typeof e;
  }
  return undefined;
}

/** An error kafkajs recognises as "rejoin the group" when a batch handler throws it. */
export function rejoinError(type: string, cause: unknown): Error {
  return Object.assign(new Error(MEMBERSHIP_ERRORS[type] ?? type, { cause }), {
    name: 'KafkaJSProtocolError',
    type,
    retriable: false,
  });
}
