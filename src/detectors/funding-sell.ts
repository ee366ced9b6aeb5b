/**
 * funding_sell: a buy in a pair new to the account paid for by the account's own sells at the
 * market, minutes before, into that pair's quote currency — the case's "swap": the attackers sold a
 * victim's liquid coins first (market sells) to fund the buys of the thin one. Scored by what the
 * sells fetched against what the account has spent in the new pair, so it needs no habit: an
 * account keyguard has just met shows it too. Many people do the same when they try a coin (sell
 * some ETH, buy the new one), and some pump buyers sell a coin to join a pump: it is evidence of
 * a liquidation beside others, never a revoke on its own price or pair.
 */
import type { DetectionConfig } from '../config/detection.js';
import type { AccountEvent, Signal } from '../events/schema.js';
import { ramp, round, sig } from '../scoring/scale.js';
import { type AccountState, fundingBefore, newPairBuy } from '../state/account-state.js';

/** `account`: the state after the event was folded in (its fills' spend counted). */
export function fundingSell(
  event: AccountEvent,
  account: AccountState,
  cfg: DetectionConfig,
): Signal | undefined {
  const buy = newPairBuy(event, account, cfg);
  if (!buy || !(buy.spend > 0)) return undefined;
  const { sym, spend } = buy;
  const funding = fundingBefore(account, event.symbol, sym.f, cfg);
  if (!funding || funding.start > event.timestamp) return undefined;
  const share = funding.usd / spend;
  const c = cfg.fundingSell;
  const score = ramp(share, c.minShare, c.fullShare);
  if (score === 0) return undefined;
  const before = Math.max(0, sym.f - funding.last);
  return {
    detector: 'funding_sell',
    score: round(score),
    evidence: {
      summary: `sold ${sig(funding.usd, 4)} USD of other coins at the market ${before > 0 ? `${round(before / 1000, 1)} s before its first trade in` : 'while buying'} ${event.symbol} (new to the account): ${round(share * 100, 1)}% of the ${sig(spend, 4)} USD it spent there`,
      fundingUsd: sig(funding.usd, 4),
      newPairSpendUsd: sig(spend, 4),
      fundedShare: round(share, 3),
      secondsBeforeFirstTrade: round(before / 1000, 1),
    },
  };
}
