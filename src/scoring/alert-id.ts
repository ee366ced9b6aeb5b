import { createHash } from 'node:crypto';

/**
 * Alert ids derive from the input alone: the account, the order that raised the alert and the
 * recommendation. A replay, a redelivered batch, or an order's fill arriving before the order
 * event itself (separate topics) all give the same id, which consumers use to deduplicate.
 */
export function alertIdFor(
  exchange: string,
  accountId: string,
  orderId: string,
  recommendation: string,
): string {
  return createHash('sha256')
    .update(`${exchange}\n${accountId}\n${orderId}\n${recommendation}`)
    .digest('hex')
    .slice(0, 32);
}
