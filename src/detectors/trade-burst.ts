/**
 * trade_burst: the account's (and its API key's) order rate in a sliding window against its own
 * rolling baseline — the peak window count it reached on previous days. A grid bot that is busy
 * every day has a high baseline; a quiet account or key that suddenly sends dozens of orders does
 * not. A second component counts orders within the window in a pair the account first traded
 * minutes ago: buying again and again, seconds apart, into a pair it never touched before is the
 * shape of the attack (a person chasing a pump clicks minutes apart).
 */
import type { DetectionConfig } from '../config/detection.js';
import type { AccountEvent, Signal } from '../events/schema.js';
import { ramp, round } from '../scoring/scale.js';
import {
  type AccountState,
  type Activity,
  newPairHistory,
  newPairWindowCount,
  previousPeak,
  startOfDay,
  windowCount,
} from '../state/account-state.js';

interface RateReading {
  orders: number;
  baseline: number;
  ratio: number;
  score: number;
}

function reading(activity: Activity, at: number, cfg: DetectionConfig['burst']): RateReading {
  const orders = windowCount(activity.w, at, cfg.windowMs);
  const baseline = Math.max(cfg.minBaseline, previousPeak(activity.p, at, cfg.baselineDays));
  const ratio = orders / baseline;
  // Without a previous day there is no baseline to compare with: a rate is only news against one.
  const warm = !cfg.requirePreviousDay || activity.f < startOfDay(at);
  return { orders, baseline, ratio, score: warm ? ramp(ratio, 1, cfg.fullRatio) : 0 };
}

/** The gap between the latest order (at or before `at`) in a new pair and the order before it. */
function lastOrderGap(times: readonly number[], at: number): number | undefined {
  const upTo = times.filter((t) => t <= at).sort((a, b) => a - b);
  if (upTo.length < 2) return undefined;
  return upTo[upTo.length - 1]! - upTo[upTo.length - 2]!;
}

export function tradeBurst(event: AccountEvent, account: AccountState, cfg: DetectionConfig): Signal {
  const at = event.timestamp;
  const acct = reading(account.act, at, cfg.burst);
  const keyActivity = event.apiKeyId ? account.keys[event.apiKeyId] : undefined;
  const key = keyActivity ? reading(keyActivity, at, cfg.burst) : undefined;

  const sym = newPairHistory(account, event.symbol, at, cfg);
  let pairScore = 0;
  let pairOrders = 0;
  let fastGap: number | undefined;
  if (sym) {
    pairOrders = newPairWindowCount(sym, at, cfg.burst.windowMs);
    const weight = account.act.f < sym.f ? 1 : cfg.newPair.newAccountWeight;
    fastGap = lastOrderGap(sym.t ?? [], at);
    // Two orders seconds apart into a pair never traded before: a script, not a person clicking.
    const fast = fastGap !== undefined && fastGap <= cfg.burst.fastGapMs ? cfg.burst.fastGapScore : 0;
    // Every pair is new to an account keyguard has just met: two quick orders in one are any bot
    // starting up (weighted down), but a count of orders into one pair within the window is a count.
    pairScore = Math.max(weight * fast, ramp(pairOrders, 1, cfg.burst.newPairFullOrders));
  }

  const score = Math.max(acct.score, key?.score ?? 0, pairScore);
  const windowS = cfg.burst.windowMs / 1000;
  if (score === 0) return { detector: 'trade_burst', score: 0, evidence: { windowOrders: acct.orders } };
  const parts = [`${acct.orders} orders in ${windowS}s vs baseline peak ${acct.baseline}`];
  if (key) parts.push(`key ${key.orders} vs ${key.baseline}`);
  if (pairOrders > 0) {
    parts.push(
      `${pairOrders} orders in ${windowS}s in ${event.symbol}, first traded ${round((at - sym!.f) / 1000, 1)}s ago`,
    );
  }
  return {
    detector: 'trade_burst',
    score: round(score),
    evidence: {
      summary: parts.join('; '),
      windowSeconds: windowS,
      windowOrders: acct.orders,
      baselinePeak: acct.baseline,
      rateRatio: round(acct.ratio, 2),
      ...(key
        ? { keyWindowOrders: key.orders, keyBaselinePeak: key.baseline, keyRateRatio: round(key.ratio, 2) }
        : {}),
      ...(pairOrders > 0 ? { newPairOrders: pairOrders } : {}),
      ...(fastGap !== undefined ? { newPairGapSeconds: round(fastGap / 1000, 2) } : {}),
    },
  };
}
