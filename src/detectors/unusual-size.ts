/**
 * unusual_size: what the account has bought in a pair new to it (within `newPair.windowMs`), or one
 * buy order's value in a pair it already trades, against its own usual largest order — the highest
 * filled value of one order on each of the previous days. The case's victims moved most of what
 * they held (one went from 50 BTC to 7); a pump buyer or someone trying a coin spends about what it
 * usually spends. Values are compared in one unit (USD via `size.quoteUsd`). An account keyguard has
 * no previous day for is not judged on its size (warm-up): there is nothing to compare with.
 */
import type { DetectionConfig } from '../config/detection.js';
import type { AccountEvent, Signal } from '../events/schema.js';
import { ramp, round, sig } from '../scoring/scale.js';
import { type AccountState, newPairBuy, previousPeak, tradedPairBuy } from '../state/account-state.js';

/**
 * `spend` against the account's largest order on the previous days (floored at `size.minOrderUsd`),
 * or undefined when it has no previous day. The one reading of size, for the detector and for the
 * first-buy observations the campaigns weigh.
 */
export function sizeAgainstHabit(
  account: AccountState,
  spend: number,
  at: number,
  cfg: DetectionConfig,
): { usual: number; ratio: number } | undefined {
  const usual = previousPeak(account.sz ?? [], at, cfg.size.baselineDays);
  if (usual === 0) return undefined;
  return { usual, ratio: spend / Math.max(usual, cfg.size.minOrderUsd) };
}

/**
 * `account`: the state after the event was folded in (its fills' spend counted). A limit buy counts
 * its own value too when placed, so the first order of a drain is judged before it fills.
 */
export function unusualSize(
  event: AccountEvent,
  account: AccountState,
  cfg: DetectionConfig,
): Signal | undefined {
  const buy = newPairBuy(event, account, cfg);
  const spend = buy ? buy.spend : tradedPairBuy(event, account, cfg);
  if (!(spend > 0)) return undefined;
  const c = cfg.size;
  const reading = sizeAgainstHabit(account, spend, event.timestamp, cfg);
  if (!reading) return undefined;
  const { usual, ratio } = reading;
  const score = ramp(ratio, c.fromRatio, c.fullRatio);
  if (score === 0) return undefined;
  return {
    detector: 'unusual_size',
    score: round(score),
    evidence: {
      summary: `bought ${sig(spend, 4)} USD of ${event.symbol} (${buy ? 'new to the account' : 'in one order'}), ${round(ratio, 1)}× its largest order on previous days (${sig(usual, 4)} USD)`,
      ...(buy ? { newPairSpendUsd: sig(spend, 4) } : { orderUsd: sig(spend, 4) }),
      usualLargestOrderUsd: sig(usual, 4),
      sizeRatio: round(ratio, 2),
    },
  };
}
