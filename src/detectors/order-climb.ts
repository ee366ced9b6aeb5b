/**
 * order_climb: one buy order whose fills climbed far through the book — from the cheapest ask it
 * lifted to the dearest. The case's victims were made to buy from the attackers' asks, placed far
 * above the market: an order priced at such an ask first lifts whatever cheaper asks rest in
 * between (the pair's makers, the crowd selling into a pump), so its own fills show both the market
 * and the attacker's price, whatever the tape was painted to say. Real taker buys do not climb like
 * that: over the 24 Binance pump tapes of `../shared/data` (19 days each, pumps included), the
 * buys of one taker order (one millisecond) never spanned more than 17 %. Only fills: a limit is an
 * offer. The climb is the order's dearest fill over its cheapest (so it does not depend on the order
 * the fills arrive in); read on any fill of the order once both are known, while it is the
 * account's latest order filled (two orders' fills interleaved start the reading again). An
 * attacker who first buys out the cheaper asks himself, or sells into an empty book, shows no
 * climb: then the price detectors and the campaigns stand alone, as before.
 */
import type { DetectionConfig } from '../config/detection.js';
import type { AccountEvent, Signal } from '../events/schema.js';
import { premiumBeyond } from '../market/market-book.js';
import { ramp, round, sig } from '../scoring/scale.js';
import { type AccountState, orderPriceRange } from '../state/account-state.js';

/** `account`: the state after the fill was folded in (its price counted in its order's range). */
export function orderClimb(
  event: AccountEvent,
  account: AccountState,
  cfg: DetectionConfig,
): Signal | undefined {
  if (event.kind !== 'fill' || event.side !== 'buy') return undefined;
  const range = orderPriceRange(account, event.order);
  if (!range || range.low <= 0) return undefined;
  // Its dearest fill's premium over its cheapest, read as every other premium beyond a bar is.
  const climb = premiumBeyond(range.high, range.low, 'buy');
  const score = ramp(climb, cfg.orderClimb.minClimb, cfg.orderClimb.fullClimb);
  if (score === 0) return undefined;
  return {
    detector: 'order_climb',
    score: round(score),
    evidence: {
      summary: `one buy order of ${event.symbol} filled from ${sig(range.low)} up to ${sig(range.high)}: it climbed ${round(climb * 100, 1)}% through the book`,
      lowestFillPrice: sig(range.low),
      highestFillPrice: sig(range.high),
      climbPct: round(climb * 100, 2),
      order: event.order,
    },
  };
}
