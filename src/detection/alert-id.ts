import { createHash } from 'node:crypto';

/** Alert ids derive from the input alone, so a replay or a redelivered batch yields the same ids. */
export function alertIdFor(exchange: string, accountId: string, triggeringEventId: string): string {
  return createHash('sha256')
    .update(`${exchange}\n${accountId}\n${triggeringEventId}`)
    .digest('hex')
    .slice(0, 32);
}
