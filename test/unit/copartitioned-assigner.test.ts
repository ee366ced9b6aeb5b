import { describe, expect, it } from 'vitest';
import { stickyBalance } from '../../src/worker/copartitioned-assigner.js';

const P6 = [0, 1, 2, 3, 4, 5];
const sizes = (m: Map<string, number[]>) => [...m.values()].map((l) => l.length).sort();
const all = (m: Map<string, number[]>) => [...m.values()].flat().sort((a, b) => a - b);

describe('co-partitioned sticky assignment', () => {
  it('balances partition numbers over members, each number to one member', () => {
    const m = stickyBalance(
      [
        { memberId: 'a', owned: [] },
        { memberId: 'b', owned: [] },
        { memberId: 'c', owned: [] },
        { memberId: 'd', owned: [] },
      ],
      P6,
    );
    expect(all(m)).toEqual(P6);
    expect(sizes(m)).toEqual([1, 1, 2, 2]);
  });

  it('moves only what it must when a member joins or dies', () => {
    const two = stickyBalance(
      [
        { memberId: 'a', owned: [0, 2, 4] },
        { memberId: 'b', owned: [1, 3, 5] },
      ],
      P6,
    );
    expect(two.get('a')).toEqual([0, 2, 4]);
    expect(two.get('b')).toEqual([1, 3, 5]);
    // c joins: a and b each give up one, keeping the rest
    const three = stickyBalance(
      [
        { memberId: 'a', owned: [0, 2, 4] },
        { memberId: 'b', owned: [1, 3, 5] },
        { memberId: 'c', owned: [] },
      ],
      P6,
    );
    expect(sizes(three)).toEqual([2, 2, 2]);
    expect(three.get('a')!.every((p) => [0, 2, 4].includes(p))).toBe(true);
    expect(three.get('b')!.every((p) => [1, 3, 5].includes(p))).toBe(true);
    // b dies (its replacement d starts empty): a keeps its own, d gets b's
    const replaced = stickyBalance(
      [
        { memberId: 'a', owned: [0, 2, 4] },
        { memberId: 'd', owned: [] },
      ],
      P6,
    );
    expect(replaced.get('a')).toEqual([0, 2, 4]);
    expect(replaced.get('d')).toEqual([1, 3, 5]);
  });

  it('ignores claims on partitions that do not exist or that another member already holds', () => {
    const m = stickyBalance(
      [
        { memberId: 'a', owned: [0, 1, 9] },
        { memberId: 'b', owned: [1, 2] },
      ],
      [0, 1, 2, 3],
    );
    expect(all(m)).toEqual([0, 1, 2, 3]);
    expect(sizes(m)).toEqual([2, 2]);
    expect(m.get('a')).toEqual([0, 1]);
  });
});
