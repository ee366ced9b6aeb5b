import { describe, expect, it } from 'vitest';
import { loadDetectionConfig } from '../../src/config/detection.js';
import { fuse } from '../../src/detection/fusion.js';
import type { Signal } from '../../src/events/schema.js';

const cfg = loadDetectionConfig().fusion;
const s = (detector: string, score: number): Signal => ({ detector, score, evidence: {} });

describe('fusion', () => {
  it('gives nothing or a review for single weak signals', () => {
    expect(fuse([s('trade_burst', 0.4)], cfg).recommendation).toBe('none');
    expect(fuse([s('off_market_fill', 0.6)], cfg).recommendation).toBe('review');
    expect(fuse([s('trade_burst', 1)], cfg).recommendation).toBe('review');
    expect(fuse([s('new_illiquid_pair', 1)], cfg).recommendation).toBe('none');
  });

  it('revokes on corroborating signals', () => {
    const v = fuse([s('off_market_fill', 0.6), s('trade_burst', 0.5)], cfg);
    expect(v.recommendation).toBe('revoke_key');
    expect(v.score).toBeGreaterThanOrEqual(0.9);
    expect(v.severity).toBe('critical');
  });

  it('revokes on one extreme signal with context, not on the extreme signal alone', () => {
    expect(fuse([s('off_market_fill', 0.99), s('new_illiquid_pair', 0.6)], cfg).recommendation).toBe(
      'revoke_key',
    );
    expect(fuse([s('off_market_fill', 0.99)], cfg).recommendation).toBe('review');
  });

  it('turns a revoke into a review when the order came from the UI (no key to revoke)', () => {
    expect(fuse([s('off_market_fill', 0.6), s('trade_burst', 0.5)], cfg, false).recommendation).toBe(
      'review',
    );
  });

  it('combines scores as a weighted noisy-OR', () => {
    const one = fuse([s('trade_burst', 0.5)], cfg).score;
    const two = fuse([s('trade_burst', 0.5), s('new_illiquid_pair', 0.5)], cfg).score;
    expect(one).toBeCloseTo(0.3, 5);
    expect(two).toBeGreaterThan(one);
    expect(two).toBeLessThan(1);
  });
});
