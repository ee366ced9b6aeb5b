/**
 * above_live_market: a buy filled above what other accounts paid just before it (the last
 * `liveMarket.windowMs`, 10 s: a pump moves fast; in a quiet pair their latest few prints) — a
 * sell below it. Only fills: a limit is an offer (a pump bot buys "up to +30 %"), not a price
 * paid. The live market is the others' prints only (the account's own fills in the pair are left
 * out, so a burst cannot set its own bar), read high (a 90th percentile for buys): a pump buyer
 * sweeping a rising book pays what the crowd pays; a victim lifting the attacker's asks pays above
 * everyone, or is the only buyer at that price. An attacker can paint the tape with wash trades, so
 * this is one piece of evidence among others, never a revoke alone. Judged only for a price beyond
 * the reference (a buy above it, a sell below): paying more than the crowd in a market that has
 * fallen below its price is not the attack's pattern.
 *
 * A buy in a pair new to the account above a *quiet* market (fewer than `minPrints` other accounts'
 * prints in the last `windowMs`: the live market reached back to older prints) is held for
 * `quietHoldMs` and stands on the account's later buys in the pair (see `noteQuietPremium`): once
 * several victims are drained into the same asks, each one's fills become the others' "live market"
 * and the evidence would fade just as the burst of orders shows. In a pump's crowd nothing is held:
 * the crowd's prints are the live market at every order.
 */
import type { DetectionConfig } from '../config/detection.js';
import type { AccountEvent, Signal } from '../events/schema.js';
import { liveBar, type MarketSnapshot, premiumBeyond } from '../market/market-book.js';
import { ramp, round, sig } from '../scoring/scale.js';
import { type AccountState, newPairHistory } from '../state/account-state.js';

export function aboveLiveMarket(
  event: AccountEvent,
  account: AccountState,
  market: MarketSnapshot,
  cfg: DetectionConfig,
): Signal | undefined {
  if (event.kind !== 'fill') return undefined; // a limit is an offer: the fills say what was paid
  const price = event.price;
  const ref = market.reference?.price;
  if (ref !== undefined && (event.side === 'buy' ? price <= ref : price >= ref)) return undefined;
  const now = atThisMoment(event, price, market, cfg);
  const held = event.side === 'buy' ? heldQuietPremium(event, account, cfg) : undefined;
  return held && held.score > (now?.score ?? 0) ? held : now;
}

/** An earlier buy of the account in this new pair above a quiet market, still held. */
function heldQuietPremium(
  event: AccountEvent,
  account: AccountState,
  cfg: DetectionConfig,
): Signal | undefined {
  const lq = newPairHistory(account, event.symbol, event.timestamp, cfg)?.lq;
  if (!lq || event.timestamp < lq[0] || event.timestamp - lq[0] > cfg.liveMarket.quietHoldMs)
    return undefined;
  const [at, score, premiumPct] = lq;
  const ago = round((event.timestamp - at) / 1000, 1);
  return {
    detector: 'above_live_market',
    score,
    evidence: {
      summary: `bought ${premiumPct}% above a quiet market ${ago}s ago in this pair (nobody else buying)`,
      livePremiumPct: premiumPct,
      heldFromSecondsAgo: ago,
    },
  };
}

function atThisMoment(
  event: AccountEvent,
  price: number,
  market: MarketSnapshot,
  cfg: DetectionConfig,
): Signal | undefined {
  const live = market.live;
  if (!live) return undefined;
  const c = cfg.liveMarket;
  const bar = liveBar(live, event.side);
  const premium = premiumBeyond(price, bar, event.side);
  const score = ramp(premium, c.minPremium, c.fullPremium);
  if (score === 0) return undefined;
  return {
    detector: 'above_live_market',
    score: round(score),
    evidence: {
      summary: `${event.side} at ${sig(price)} is ${round(premium * 100, 1)}% ${event.side === 'buy' ? 'above' : 'below'} what others paid in the last ${round(live.spanMs / 1000, 1)}s (${live.prints} prints, ${event.side === 'buy' ? 'high' : 'low'} ${sig(bar)})`,
      livePremiumPct: round(premium * 100, 2),
      livePrice: sig(bar),
      livePrints: live.prints,
      liveSpanSeconds: round(live.spanMs / 1000, 1),
    },
  };
}
