import { describe, expect, it } from 'vitest';
import { addToWindow } from '../../src/campaign/time-window.js';
import { WindowBuyers, windowBuyers } from '../../src/campaign/window-buyers.js';
import type { FirstBuy } from '../../src/events/observation.js';

const T0 = Date.UTC(2022, 10, 14, 12);
const links = (o: FirstBuy) => [
  ...(o.counterpartyAccountId ? [`cp:${o.counterpartyAccountId}`] : []),
  ...(o.label ? [`label:${o.label}`] : []),
];

/** A deterministic pseudo-random sequence (mulberry32). */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Everything a buyer holds, Maps and Sets in their iteration order. */
function plain(buyers: ReadonlyMap<string, unknown>): unknown {
  return [...buyers].map(([id, b]) => [
    id,
    JSON.parse(JSON.stringify(b, (_k, v) => (v instanceof Map ? [...v] : v instanceof Set ? [...v] : v))),
  ]);
}

describe('the buyers of a first-buy window, kept up to date', () => {
  it('equal a fresh build after every buy: out of order, redelivered, below the premium, evicted by time and by count', () => {
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const next = rng(seed);
      const window: FirstBuy[] = [];
      let newest = 0;
      let fastPaths = 0;
      for (let i = 0; i < 600; i++) {
        const late = next() < 0.3; // a worker behind the others
        const at = T0 + i * 20_000 - (late ? Math.floor(next() * 600_000) : 0);
        const account = `a${Math.floor(next() * 40)}`;
        const o: FirstBuy = {
          type: 'first_buy',
          exchange: 'binance',
          symbol: 'YOYOW/BTC',
          accountId: account,
          ...(next() < 0.8 ? { apiKeyId: `${account}-k${Math.floor(next() * 2)}` } : {}),
          fillId:
            next() < 0.05 && window.length > 0 ? window[Math.floor(next() * window.length)]!.fillId : `f${i}`,
          orderId: `o${Math.floor(i / 2)}`,
          timestamp: at,
          price: 1e-6,
          amount: 1 + next() * 1000,
          premium: next() * 0.2 - 0.05,
          ...(next() < 0.5 ? { livePremium: next() * 0.3 } : {}),
          ...(next() < 0.5 ? { sizeRatio: next() * 10, habitOrders: Math.floor(next() * 4) } : {}),
          ...(next() < 0.7 ? { counterpartyAccountId: `cp${Math.floor(next() * 5)}` } : {}),
          ...(next() < 0.5 ? { label: `l${Math.floor(next() * 3)}` } : {}),
          ...(next() < 0.6 ? { clientIp: `198.51.100.${Math.floor(next() * 4)}` } : {}),
          newClientIp: next() < 0.2,
          accountRecommendation: (['none', 'review', 'revoke_key'] as const)[Math.floor(next() * 3)]!,
        };
        const index = windowBuyers(window, 0.01, links);
        if (index.has(o.fillId)) {
          expect(window.some((x) => x.fillId === o.fillId)).toBe(true);
          continue;
        }
        expect(window.some((x) => x.fillId === o.fillId)).toBe(false);
        newest = Math.max(newest, at);
        const evicted: FirstBuy[] = [];
        addToWindow(window, o, newest, 1_800_000, 60, evicted);
        const appended = evicted.length === 0 && window.at(-1) === o;
        if (appended) fastPaths++;
        index.update(o, evicted);
        const fresh = new WindowBuyers(window, 0.01, links);
        expect(plain(index.buyers)).toEqual(plain(fresh.buyers));
        for (let ip = 0; ip < 4; ip++)
          expect(index.isEstablished(`198.51.100.${ip}`)).toBe(fresh.isEstablished(`198.51.100.${ip}`));
        // Reused while it describes the window.
        expect(windowBuyers(window, 0.01, links)).toBe(index);
      }
      expect(fastPaths).toBeGreaterThan(10); // both paths were taken
    }
  });

  it('is rebuilt when the window changed behind its back, or the premium bar differs', () => {
    const o = (i: number, accountId: string): FirstBuy => ({
      type: 'first_buy',
      exchange: 'binance',
      symbol: 'X/BTC',
      accountId,
      fillId: `f${i}`,
      orderId: `o${i}`,
      timestamp: T0 + i,
      price: 1,
      amount: 1,
      premium: 0.05,
      newClientIp: false,
      accountRecommendation: 'none',
    });
    const window = [o(1, 'a'), o(2, 'b')];
    const first = windowBuyers(window, 0.01, links);
    expect([...first.buyers.keys()]).toEqual(['a', 'b']);
    window.push(o(3, 'c')); // not through update
    const second = windowBuyers(window, 0.01, links);
    expect(second).not.toBe(first);
    expect([...second.buyers.keys()]).toEqual(['a', 'b', 'c']);
    expect([...windowBuyers(window, 0.1, links).buyers.keys()]).toEqual([]); // 5 % is below a 10 % bar
  });
});
