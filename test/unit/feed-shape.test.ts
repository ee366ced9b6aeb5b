import { describe, expect, it } from 'vitest';
import { reshapeFeed } from '../../src/simulate/feed-shape.js';
import { syntheticScenario } from '../../src/simulate/synthetic-scenario.js';

describe('feed shapes (the account stream as another producer might send it)', () => {
  const { events } = syntheticScenario({ seed: 5, days: 2, accounts: 8, victims: 2 });
  const count = (list: typeof events, kind: string) => list.filter((e) => e.kind === kind).length;
  const sorted = (list: typeof events) =>
    list.every((e, i) => i === 0 || e.timestamp >= list[i - 1]!.timestamp);

  it('puts each filled order after its last fill, keeping every event and the time order', () => {
    const out = reshapeFeed(events, 'orders-after');
    expect(out).toHaveLength(events.length);
    expect(sorted(out)).toBe(true);
    const seen = new Set<string>();
    let filledOrders = 0;
    for (const e of out) {
      if (e.kind === 'fill') seen.add(e.order);
      if (e.kind === 'order' && e.filled) {
        filledOrders++;
        // Done: its fills came first.
        expect(seen.has(e.id)).toBe(true);
      }
    }
    expect(filledOrders).toBeGreaterThan(10);
  });

  it('sends an open order when placed and the closed one after its fills', () => {
    const out = reshapeFeed(events, 'order-updates');
    const filled = events.filter((e) => e.kind === 'order' && e.filled).length;
    expect(out).toHaveLength(events.length + filled);
    expect(sorted(out)).toBe(true);
    const opened = out.filter((e) => e.kind === 'order' && e.status === 'open' && e.filled === 0).length;
    expect(opened).toBeGreaterThanOrEqual(filled);
  });

  it('leaves out tickers, apikey events or orders, and nothing else', () => {
    for (const [shape, kind] of [
      ['no-tickers', 'ticker'],
      ['no-apikeys', 'apikey'],
      ['fills-only', 'order'],
    ] as const) {
      const out = reshapeFeed(events, shape);
      expect(count(events, kind)).toBeGreaterThan(0);
      expect(count(out, kind)).toBe(0);
      expect(out).toHaveLength(events.length - count(events, kind));
    }
    expect(reshapeFeed(events, 'as-is')).toEqual(events);
  });
});
