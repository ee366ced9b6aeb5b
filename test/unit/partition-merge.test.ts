import { describe, expect, it } from 'vitest';
import { type BufferedRecord, PartitionMerge } from '../../src/worker/partition-merge.js';

const rec = (topic: string, offset: number, timestamp: number | undefined): BufferedRecord<string> => ({
  topic,
  offset: String(offset),
  timestamp,
  payload: `${topic}@${offset}`,
});

describe('partition merge', () => {
  it('holds a topic back until the other has delivered up to the same time, then merges by time', () => {
    const m = new PartitionMerge<string>(['orders', 'fills']);
    m.add('orders', [rec('orders', 0, 100), rec('orders', 1, 300)], false);
    expect(m.take(0).map((r) => r.payload)).toEqual([]); // fills not fetched yet: wait
    m.add('fills', [rec('fills', 0, 150), rec('fills', 1, 200), rec('fills', 2, 400)], false);
    expect(m.take(0).map((r) => r.payload)).toEqual(['orders@0', 'fills@0', 'fills@1', 'orders@1']);
    expect(m.size).toBe(1);
    // fills is not at its end: it may still bring something before 400.
    expect(m.take(0)).toEqual([]);
    m.add('fills', [], true);
    expect(m.take(0)).toEqual([]); // nor is orders
    m.add('orders', [], true);
    expect(m.take(0).map((r) => r.payload)).toEqual(['fills@2']);
  });

  it('stops waiting for a topic that never delivers after maxHoldMs', () => {
    const m = new PartitionMerge<string>(['orders', 'fills'], 1000);
    m.add('orders', [rec('orders', 0, 100)], true);
    expect(m.take(5_000)).toEqual([]);
    expect(m.take(6_500).map((r) => r.payload)).toEqual(['orders@0']);
  });

  it('puts an order before its fill at the same time, and releases undecodable records at once', () => {
    const m = new PartitionMerge<string>(['orders', 'fills']);
    m.add('fills', [rec('fills', 0, 100), rec('fills', 1, undefined)], true);
    m.add('orders', [rec('orders', 0, 100)], true);
    expect(m.take(0).map((r) => r.payload)).toEqual(['orders@0', 'fills@0', 'fills@1']);
  });

  it('keeps each topic in offset order even when its timestamps are not', () => {
    const m = new PartitionMerge<string>(['orders', 'fills']);
    m.add('orders', [rec('orders', 0, 200), rec('orders', 1, 100)], true);
    m.add('fills', [rec('fills', 0, 150)], true);
    expect(m.take(0).map((r) => r.payload)).toEqual(['fills@0']);
    expect(m.take(0).map((r) => r.payload)).toEqual(['orders@0', 'orders@1']);
  });
});
