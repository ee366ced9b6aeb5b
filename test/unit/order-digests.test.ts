import { describe, expect, it } from 'vitest';
import { loadDetectionConfig } from '../../src/config/detection.js';
import {
  type AccountState,
  applyAccountEvent,
  filledSoFar,
  latestIp,
  newAccountState,
} from '../../src/state/account-state.js';
import { DIGEST_CHARS, hasDigest, orderDigest, pushDigest } from '../../src/state/order-digests.js';
import { upgradeAccountState } from '../../src/state/stored-account.js';
import { fill, order, T0 } from '../helpers/events.js';

const cfg = loadDetectionConfig();

describe('order digests', () => {
  it('are six URL-safe characters, the same for the same id, distinct over 50,000 ids of several shapes', () => {
    const ids = [
      ...Array.from({ length: 20_000 }, (_, i) => String(28_457_000_000 + i)), // Binance: numbers
      ...Array.from({ length: 20_000 }, (_, i) => `acct-${i % 97}-o${i}`),
      ...Array.from({ length: 10_000 }, (_, i) => `8f1c2a6e-0b7d-4c3e-9a51-${String(i).padStart(12, '0')}`),
    ];
    const digests = ids.map(orderDigest);
    for (const d of digests) expect(d).toMatch(/^[A-Za-z0-9_-]{6}$/);
    expect(digests[5]).toBe(orderDigest(ids[5]!));
    expect(new Set(digests).size).toBe(ids.length);
  });

  it('are found only whole, and at most `max` newest are kept', () => {
    let recent = '';
    for (const id of ['a', 'b', 'c', 'd']) recent = pushDigest(recent, orderDigest(id), 3);
    expect(recent.length).toBe(3 * DIGEST_CHARS);
    expect(hasDigest(recent, orderDigest('a'))).toBe(false);
    for (const id of ['b', 'c', 'd']) expect(hasDigest(recent, orderDigest(id))).toBe(true);
    // Characters spanning two digests are not a digest.
    expect(hasDigest(recent, recent.slice(3, 3 + DIGEST_CHARS))).toBe(false);
  });

  it('count an order and its fills once, as the ids did', () => {
    const s = newAccountState(T0);
    applyAccountEvent(s, order({ id: 'x-1', timestamp: T0 }), cfg);
    applyAccountEvent(s, fill({ order: 'x-1', timestamp: T0 + 1 }), cfg);
    applyAccountEvent(s, order({ id: 'x-1', status: 'closed', timestamp: T0 + 2 }), cfg);
    applyAccountEvent(s, fill({ order: 'x-2', timestamp: T0 + 3 }), cfg);
    expect(s.orders).toBe(2);
    expect(s.recent).toBe(orderDigest('x-1') + orderDigest('x-2'));
  });

  it('upgrade a state stored with order ids: the orders it had counted stay counted', () => {
    const ids = Array.from({ length: 40 }, (_, i) => `legacy-${i}`);
    const old = {
      ...newAccountState(T0),
      v: 1,
      recent: ids.slice(-cfg.state.recentOrderIds),
      oq: ['legacy-39', 12.5],
      km: { k: { ips: ['10.0.0.1', '10.0.0.2'], ip: '10.0.0.2', newIpAt: T0 } },
    };
    const s = upgradeAccountState(old as unknown as AccountState);
    expect(s.v).toBe(2);
    expect(s.recent).toBe(ids.slice(-cfg.state.recentOrderIds).map(orderDigest).join(''));
    expect(filledSoFar(s, 'legacy-39')).toBe(12.5);
    expect(s.km!.k).toEqual({ ips: ['10.0.0.1', '10.0.0.2'], newIpAt: T0 });
    expect(latestIp(s.km!.k)).toBe('10.0.0.2');
    applyAccountEvent(s, fill({ order: 'legacy-39', timestamp: T0 + 5 }), cfg);
    expect(s.orders).toBe(0);
    applyAccountEvent(s, fill({ order: 'legacy-0', timestamp: T0 + 6 }), cfg); // forgotten already
    expect(s.orders).toBe(1);
    // A current state passes through unchanged.
    const current = newAccountState(T0);
    expect(upgradeAccountState(structuredClone(current))).toEqual(current);
  });
});
