/**
 * Combines detector signals into one score, a severity and a recommendation. The score is a
 * weighted noisy-OR (independent evidence accumulates, none alone exceeds its weight). The
 * recommendation comes from the configured rules, first match wins: `revoke_key` needs either
 * corroborating signals or one extreme signal with context; weak single signals give `review`.
 */
import type { DetectionConfig } from '../config/detection.js';
import { RECOMMENDATION_LEVEL, type Recommendation, type Severity, type Signal } from '../events/schema.js';
import { round } from '../scoring/scale.js';

export interface Verdict {
  score: number;
  severity: Severity;
  recommendation: Recommendation;
}

/** How many of the conditions (detector → minimum score) the signals meet. */
function countMet(
  byDetector: ReadonlyMap<string, number>,
  conditions: Partial<Record<string, number>>,
): number {
  let n = 0;
  for (const d in conditions) if ((byDetector.get(d) ?? 0) >= (conditions[d] ?? 0)) n++;
  return n;
}

/** What the fused event is, beyond its signals. */
export interface FusedEvent {
  /** It carries an API key (an order placed in the UI does not). */
  apiKey: boolean;
  /**
   * Its market was quiet: fewer than `liveMarket.minPrints` other accounts' prints in the seconds
   * before (or none within `liveMarket.maxAgeMs`).
   */
  quietMarket: boolean;
}

/**
 * An order placed in the UI has no key to revoke (`revokeNeedsApiKey`), so what would be a revoke
 * becomes a review; and a person clicking into a pump with a big order is not a leaked key
 * (`reviewNeedsApiKey`): what would be a review raises nothing — the review queue takes a UI order
 * on the evidence a key's revoke needs. A rule with `quietMarket` holds only above a quiet market.
 */
export function fuse(
  signals: readonly Signal[],
  cfg: DetectionConfig['fusion'],
  event: FusedEvent = { apiKey: true, quietMarket: false },
): Verdict {
  const byDetector = new Map<string, number>();
  let keep = 1;
  for (const s of signals) {
    byDetector.set(s.detector, Math.max(byDetector.get(s.detector) ?? 0, s.score));
    const weight = cfg.weights[s.detector as keyof typeof cfg.weights] ?? cfg.defaultWeight;
    keep *= 1 - weight * s.score;
  }
  let score = 1 - keep;
  let recommendation: Recommendation = 'none';
  for (const rule of cfg.rules) {
    const holds =
      (!rule.quietMarket || event.quietMarket) &&
      countMet(byDetector, rule.when) === Object.keys(rule.when).length &&
      (!rule.atLeast || countMet(byDetector, rule.atLeast.of) >= rule.atLeast.count);
    if (holds) {
      recommendation = rule.recommendation;
      break;
    }
  }
  if (!event.apiKey) {
    if (recommendation === 'review' && cfg.reviewNeedsApiKey) recommendation = 'none';
    else if (recommendation === 'revoke_key' && cfg.revokeNeedsApiKey) recommendation = 'review';
  }
  // A revoke is never reported as a low score, whatever the weights say.
  if (RECOMMENDATION_LEVEL[recommendation] >= RECOMMENDATION_LEVEL.revoke_key)
    score = Math.max(score, cfg.revokeMinScore);
  const band =
    cfg.severityBands.find((b) => score >= b.minScore) ?? cfg.severityBands[cfg.severityBands.length - 1]!;
  return { score: round(score), severity: band.severity, recommendation };
}
