/**
 * The one ordering rule replay and the worker share for events of the same millisecond: market
 * events (public prints, tickers) before account events. The worker scores an account batch only
 * once the market stream has passed the batch's time, so a fill sees the public print of its own
 * millisecond; replay puts that print first to see the same. Account events keep their order
 * among themselves (the order of their topic partition, or of the file).
 */
import { type InputEvent, isMarketEvent } from './schema.js';

/** Lower goes first at equal event time. */
export function sameTimeRank(event: InputEvent): number {
  return isMarketEvent(event) ? 0 : 1;
}

/**
 * Applies the rule to a stream already in event-time order: within each run of equal timestamps,
 * market events move ahead of the others (stable). Events out of order are left where they are.
 */
export function marketFirstAtEqualTime(events: readonly InputEvent[]): InputEvent[] {
  const out: InputEvent[] = [];
  for (let i = 0; i < events.length; ) {
    let j = i + 1;
    while (j < events.length && events[j]!.timestamp === events[i]!.timestamp) j++;
    if (j - i === 1) out.push(events[i]!);
    else {
      const run = events.slice(i, j);
      for (const e of run) if (sameTimeRank(e) === 0) out.push(e);
      for (const e of run) if (sameTimeRank(e) !== 0) out.push(e);
    }
    i = j;
  }
  return out;
}
