import { describe, expect, it } from 'vitest';
import { loadDetectionConfig } from '../../src/config/detection.js';
import { fuse } from '../../src/detection/fusion.js';
import type { Signal } from '../../src/events/schema.js';

const cfg = loadDetectionConfig().fusion;
const s = (detector: string, score: number): Signal => ({ detector, score, evidence: {} });

describe('fusion', () => {
  it('gives nothing for an off-market price, a burst or a new pair alone', () => {
    expect(fuse([s('trade_burst', 0.4)], cfg).recommendation).toBe('none');
    // A pump buyer pays far above the pre-pump reference: that alone is the crowd, not a theft.
    expect(fuse([s('off_market_fill', 0.99)], cfg).recommendation).toBe('none');
    expect(fuse([s('trade_burst', 1)], cfg).recommendation).toBe('none');
    expect(fuse([s('new_illiquid_pair', 1)], cfg).recommendation).toBe('none');
  });

  it('leaves a scripted pump buyer alone: off the reference, a quick second order, a new thin pair', () => {
    const v = fuse([s('off_market_fill', 0.96), s('trade_burst', 0.5), s('new_illiquid_pair', 0.8)], cfg);
    expect(v.recommendation).toBe('none');
  });

  it('reviews an off-market price with one more piece of evidence', () => {
    for (const [d, score] of [
      ['above_live_market', 0.5],
      ['unusual_size', 0.5],
      ['key_context', 0.7],
      ['order_climb', 0.25],
    ] as const)
      expect(fuse([s('off_market_fill', 0.6), s(d, score)], cfg).recommendation).toBe('review');
  });

  it('reviews an off-market burst only above a quiet market: in a busy one it is the crowd', () => {
    const burst = [s('off_market_fill', 0.8), s('trade_burst', 0.67), s('new_illiquid_pair', 0.4)];
    expect(fuse(burst, cfg, { apiKey: true, quietMarket: true }).recommendation).toBe('review');
    // A scripted pump buyer's orders among the pump's prints, at the crowd's price.
    expect(fuse(burst, cfg, { apiKey: true, quietMarket: false }).recommendation).toBe('none');
    const newPairBurst = [s('new_illiquid_pair', 0.8), s('trade_burst', 0.67), s('off_market_fill', 0.3)];
    expect(fuse(newPairBurst, cfg, { apiKey: true, quietMarket: true }).recommendation).toBe('review');
    expect(fuse(newPairBurst, cfg, { apiKey: true, quietMarket: false }).recommendation).toBe('none');
  });

  it('revokes a stream of orders far off the reference into a new thin pair above a quiet market, not among a crowd', () => {
    // A medium drain in a pair the attackers pump alone, the tape painted at their price (no premium
    // over the live market), the victim's usual IP and a size it has traded: six orders in a minute.
    const drain = [s('off_market_fill', 0.83), s('new_illiquid_pair', 0.99), s('trade_burst', 0.72)];
    const quiet = { apiKey: true, quietMarket: true };
    expect(fuse(drain, cfg, quiet).recommendation).toBe('revoke_key');
    // Among a pump's prints: a scripted pump buyer's orders at the crowd's price.
    expect(fuse(drain, cfg, { apiKey: true, quietMarket: false }).recommendation).toBe('none');
    // Five orders (a scripted pump buyer's, however quiet its moment): a review at most.
    const five = [s('off_market_fill', 0.83), s('new_illiquid_pair', 0.99), s('trade_burst', 0.57)];
    expect(fuse(five, cfg, quiet).recommendation).not.toBe('revoke_key');
    // A grid bot starting a pair lays its orders near the market.
    const grid = [s('off_market_fill', 0.3), s('new_illiquid_pair', 0.99), s('trade_burst', 1)];
    expect(fuse(grid, cfg, quiet).recommendation).not.toBe('revoke_key');
    // A pair the account trades already: the burst is a review.
    expect(fuse([s('off_market_fill', 0.83), s('trade_burst', 1)], cfg, quiet).recommendation).toBe('review');
  });

  it('revokes on an off-market price with two independent pieces of evidence', () => {
    const v = fuse([s('off_market_fill', 0.6), s('unusual_size', 0.8), s('key_context', 0.7)], cfg);
    expect(v.recommendation).toBe('revoke_key');
    expect(v.score).toBeGreaterThanOrEqual(0.9);
    expect(v.severity).toBe('critical');
    expect(
      fuse([s('off_market_fill', 0.6), s('above_live_market', 0.6), s('trade_burst', 0.7)], cfg)
        .recommendation,
    ).toBe('revoke_key');
  });

  it('revokes on paying far above a quiet market and the reference in a new thin pair; reviews it above a crowd', () => {
    const quiet = { apiKey: true, quietMarket: true };
    const signals = [s('off_market_fill', 0.96), s('above_live_market', 0.95), s('new_illiquid_pair', 0.6)];
    expect(fuse(signals, cfg, quiet).recommendation).toBe('revoke_key');
    // Above a crowd's prints it is ambiguous (copy-trading followers climbing the book, a sweep).
    expect(fuse(signals, cfg, { apiKey: true, quietMarket: false }).recommendation).toBe('review');
    // A buyer paying some way above the last prints: a review.
    const sweep = [s('off_market_fill', 0.96), s('above_live_market', 0.7), s('new_illiquid_pair', 0.6)];
    expect(fuse(sweep, cfg, quiet).recommendation).toBe('review');
    // In a pair the account trades already (no first trade in a thin pair): a review.
    expect(fuse(signals.slice(0, 2), cfg, quiet).recommendation).toBe('review');
  });

  it('revokes a key trading from a new IP that spends ten times its habit in a new thin pair, not without either', () => {
    // The case's drain: the attacker's machine, most of what the account holds, a coin it never traded.
    const drain = [
      s('key_context', 0.7),
      s('unusual_size', 0.83),
      s('new_illiquid_pair', 1),
      s('off_market_fill', 0.31),
    ];
    const fused = fuse(drain, cfg);
    expect(fused.recommendation).toBe('revoke_key');
    expect(fused.score).toBeGreaterThanOrEqual(cfg.revokeMinScore);
    // A bot that moved server, buying its usual size: a review. A person trying a coin big from
    // home: nothing. A dormant key waking big (key_context 0.6, no new IP): a review.
    const withoutSize = drain.filter((x) => x.detector !== 'unusual_size');
    expect(fuse(withoutSize, cfg).recommendation).toBe('review');
    const withoutIp = drain.filter((x) => x.detector !== 'key_context');
    expect(fuse(withoutIp, cfg).recommendation).toBe('none');
    expect(fuse([s('key_context', 0.6), ...drain.slice(1)], cfg).recommendation).toBe('review');
    // An old or dormant key buying its usual size in a new thin pair off the reference: among a
    // pump's prints that is a pump buyer who has had its key a while; above a quiet market, a review.
    const oldKey = [s('key_context', 0.5), s('new_illiquid_pair', 0.6), s('off_market_fill', 0.8)];
    expect(fuse(oldKey, cfg).recommendation).toBe('none');
    expect(fuse(oldKey, cfg, { apiKey: true, quietMarket: true }).recommendation).toBe('review');
    // From a new IP, a review in either market.
    expect(fuse([s('key_context', 0.7), ...oldKey.slice(1)], cfg).recommendation).toBe('review');
    // However carefully priced: at the reference too (a careful thief pays +2 %), still the drain.
    expect(fuse(drain.slice(0, 3), cfg).recommendation).toBe('revoke_key');
    // In a liquid pair, or one the account trades: not this rule.
    expect(fuse([...drain.slice(0, 2), s('new_illiquid_pair', 0.3)], cfg).recommendation).not.toBe(
      'revoke_key',
    );
  });

  it('revokes the same drain paid for by selling held coins at the market minutes before (the swap), above the reference', () => {
    const swap = [
      s('funding_sell', 1),
      s('unusual_size', 0.6),
      s('new_illiquid_pair', 0.9),
      s('off_market_fill', 0.25),
    ];
    expect(fuse(swap, cfg).recommendation).toBe('revoke_key');
    // A person selling some ETH to try a coin at its usual size, or at the reference: no revoke.
    expect(fuse([swap[0]!, s('unusual_size', 0.3), ...swap.slice(2)], cfg).recommendation).toBe('none');
    expect(fuse([...swap.slice(0, 3), s('off_market_fill', 0.1)], cfg).recommendation).toBe('none');
    // A swap from the key's new IP into the pump (a copy platform's follower on a new server) is no revoke.
    const follower = [
      s('funding_sell', 1),
      s('key_context', 0.7),
      s('new_illiquid_pair', 0.9),
      s('off_market_fill', 0.9),
    ];
    expect(fuse(follower, cfg).recommendation).not.toBe('revoke_key');
  });

  it('revokes a buy order that climbed far through the book in a new thin pair off the reference, not without either', () => {
    // The victim's order lifted the pair's ask, then the attacker's 40 % above it.
    const climb = [s('order_climb', 1), s('off_market_fill', 0.8), s('new_illiquid_pair', 0.4)];
    expect(fuse(climb, cfg).recommendation).toBe('revoke_key');
    // A climb of 25 % (0.25) is one of rule 1's pieces of evidence: beside a long burst, a revoke.
    const burst = [s('off_market_fill', 0.8), s('trade_burst', 0.71)];
    expect(fuse([...burst, s('order_climb', 0.25)], cfg).recommendation).toBe('revoke_key');
    // Without it, a burst off the reference: a review above a quiet market, the crowd in a busy one.
    const quiet = { apiKey: true, quietMarket: true };
    expect(fuse([...burst, s('order_climb', 0.2)], cfg, quiet).recommendation).toBe('review');
    expect(fuse([...burst, s('order_climb', 0.2)], cfg).recommendation).toBe('none');
    // A pump order sweeping a book (≤ 17 % in real pumps) scores below the bar: nothing.
    expect(fuse([s('order_climb', 0.2), ...climb.slice(1)], cfg).recommendation).toBe('none');
    // Near the reference, or in a pair the account trades: no revoke.
    expect(fuse([climb[0]!, s('off_market_fill', 0.3), climb[2]!], cfg).recommendation).not.toBe(
      'revoke_key',
    );
    expect(fuse(climb.slice(0, 2), cfg).recommendation).not.toBe('revoke_key');
  });

  it('turns a revoke into a review when the order came from the UI (no key to revoke)', () => {
    const signals = [s('off_market_fill', 0.6), s('unusual_size', 0.8), s('trade_burst', 0.7)];
    expect(fuse(signals, cfg, { apiKey: false, quietMarket: false }).recommendation).toBe('review');
  });

  it("raises nothing on a UI order for what would be a key's review: a person clicking into a pump big", () => {
    const signals = [s('off_market_fill', 0.9), s('unusual_size', 1), s('new_illiquid_pair', 0.5)];
    expect(fuse(signals, cfg).recommendation).toBe('review');
    expect(fuse(signals, cfg, { apiKey: false, quietMarket: false }).recommendation).toBe('none');
    expect(
      fuse(signals, { ...cfg, reviewNeedsApiKey: false }, { apiKey: false, quietMarket: false })
        .recommendation,
    ).toBe('review');
  });

  it('combines scores as a weighted noisy-OR', () => {
    const one = fuse([s('trade_burst', 0.5)], cfg).score;
    const two = fuse([s('trade_burst', 0.5), s('new_illiquid_pair', 0.5)], cfg).score;
    expect(one).toBeCloseTo(0.3, 5);
    expect(two).toBeGreaterThan(one);
    expect(two).toBeLessThan(1);
  });
});
