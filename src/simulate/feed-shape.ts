/**
 * The same account stream as another feed might send it: the contract (events.md) fixes the
 * fields, not which events a producer emits or in what order. `npm run eval -- --shape S` scores
 * the scenarios reshaped, to show what detection leans on.
 *
 * - `orders-after`: each order event only once it is done, after its last fill (a `closed` order
 *   from an order-history poll);
 * - `order-updates`: an `open` order event when placed, and the `closed` one after its last fill;
 * - `no-tickers`: no ticker events (prints only);
 * - `no-apikeys`: no apikey events (no key labels, no key ages);
 * - `fills-only`: no order events at all (no client IPs).
 */
import type { InputEvent } from '../events/schema.js';

export const FEED_SHAPES = [
  'as-is',
  'orders-after',
  'order-updates',
  'no-tickers',
  'no-apikeys',
  'fills-only',
] as const;
export type FeedShape = (typeof FEED_SHAPES)[number];

export function reshapeFeed(events: readonly InputEvent[], shape: FeedShape): InputEvent[] {
  if (shape === 'no-tickers') return events.filter((e) => e.kind !== 'ticker');
  if (shape === 'no-apikeys') return events.filter((e) => e.kind !== 'apikey');
  if (shape === 'fills-only') return events.filter((e) => e.kind !== 'order');
  if (shape === 'as-is') return [...events];
  // Where each order's last fill is: the order (as done) goes right after it.
  const lastFill = new Map<string, number>();
  events.forEach((e, i) => {
    if (e.kind === 'fill') lastFill.set(e.order, i);
  });
  const after = new Map<number, InputEvent[]>();
  const out: InputEvent[] = [];
  events.forEach((e, i) => {
    const at = e.kind === 'order' ? lastFill.get(e.id) : undefined;
    if (e.kind === 'order' && at !== undefined && at > i) {
      if (shape === 'order-updates') out.push({ ...e, status: 'open', filled: 0 });
      const done = after.get(at) ?? [];
      done.push({ ...e, timestamp: Math.max(e.timestamp, events[at]!.timestamp) });
      after.set(at, done);
    } else out.push(e);
    for (const d of after.get(i) ?? []) out.push(d);
  });
  return out;
}
