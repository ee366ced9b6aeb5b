/**
 * off_market_fill: a buy filled far above the reference price, or a sell far below it. Only fills
 * are judged: a limit is an offer, and pump groups tell their members to buy "up to +30 %" — the
 * fills say what was paid. The reference is the lagged median of normal minutes (see
 * reference-price.ts), which an attacker filling against his own asks cannot drag along. The
 * tolerance widens with the pair's own noise. The score ramps to 0.8 at `fullDeviation` and on to
 * 1 at `extremeDeviation`, so rules can tell "clearly off-market" from "absurdly off-market". A
 * price that is clearly off the reference *and* `livePremium` above the live market (what other
 * accounts paid just before, the fill's own print left out; the last public print when that is
 * unknown) scores 0.96 as well.
 */
import type { DetectionConfig } from '../config/detection.js';
import type { AccountEvent, Signal } from '../events/schema.js';
import { liveBar, type MarketSnapshot, premiumBeyond } from '../market/market-book.js';
import { ramp, round, sig } from '../scoring/scale.js';

/** How far beyond the reference a fill may be before it is off-market: the pair's own noise, bounded. */
export function offMarketTolerance(dispersion: number, cfg: DetectionConfig): number {
  const c = cfg.offMarket;
  return Math.max(c.minDeviation, Math.min(c.maxTolerance, c.volatilityMultiplier * dispersion));
}

export function offMarketFill(
  event: AccountEvent,
  market: MarketSnapshot,
  cfg: DetectionConfig,
): Signal | undefined {
  if (event.kind !== 'fill') return undefined;
  const price = event.price;
  const ref = market.reference;
  if (!ref) {
    return { detector: 'off_market_fill', score: 0, evidence: { summary: 'reference price not yet known' } };
  }
  const c = cfg.offMarket;
  const deviation = event.side === 'buy' ? price / ref.price - 1 : 1 - price / ref.price;
  const tolerance = offMarketTolerance(ref.dispersion, cfg);
  const full = Math.max(c.fullDeviation, tolerance + 0.01);
  const extreme = Math.max(c.extremeDeviation, full + 0.01);
  if (deviation <= tolerance) {
    return { detector: 'off_market_fill', score: 0, evidence: { deviationPct: round(deviation * 100, 2) } };
  }
  // The live market: what other accounts paid just before (a fill's own print is the last print).
  const last = market.live ? liveBar(market.live, event.side) : market.lastPrint?.price;
  const livePremium = last === undefined ? undefined : premiumBeyond(price, last, event.side);
  let score = 0.8 * ramp(deviation, tolerance, full) + 0.2 * ramp(deviation, full, extreme);
  if (deviation >= full && livePremium !== undefined && livePremium >= c.livePremium)
    score = Math.max(score, 0.96);
  const moved = Math.max(0, (event.side === 'buy' ? price - ref.price : ref.price - price) * event.amount);
  const dir = event.side === 'buy' ? 'above' : 'below';
  return {
    detector: 'off_market_fill',
    score: round(score),
    evidence: {
      summary: `${event.side} fill at ${sig(price)} is ${round(Math.abs(deviation) * 100, 1)}% ${dir} reference ${sig(ref.price)}`,
      price: sig(price),
      referencePrice: sig(ref.price),
      deviationPct: round(deviation * 100, 2),
      tolerancePct: round(tolerance * 100, 2),
      referenceSource: ref.source,
      ...(ref.venues ? { referenceVenues: ref.venues.join(',') } : {}),
      referenceAgeSeconds: round(ref.ageMs / 1000, 1),
      referencePrints: ref.prints,
      ...(livePremium !== undefined ? { livePremiumPct: round(livePremium * 100, 2) } : {}),
      valueMoved: sig(moved),
      basis: 'fill',
    },
  };
}
