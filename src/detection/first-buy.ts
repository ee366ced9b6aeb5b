/**
 * The first-buy observation a worker hands to the campaign aggregator: a buy fill in a pair the
 * account never traded before (its first trade in the pair within `newPair.windowMs`), in a market
 * at least `campaign.minIlliquidity` thin. It carries what links accounts across partitions —
 * counterparty, client IP (new to the key or not), key label — and the fill's premium over the
 * reference price. Pure.
 */

import type { DetectionConfig } from '../config/detection.js';
import { sizeAgainstHabit } from '../detectors/unusual-size.js';
import type { FirstBuy } from '../events/observation.js';
import type { FillEvent, Recommendation } from '../events/schema.js';
import { illiquidity } from '../market/illiquidity.js';
import { isQuietMarket, liveBar, type MarketSnapshot, premiumBeyond } from '../market/market-book.js';
import { round } from '../scoring/scale.js';
import {
  type AccountState,
  latestIp,
  newClientIp,
  newPairHistory,
  ordersBefore,
} from '../state/account-state.js';

/** `account`: the state after the fill was folded in. */
export function firstBuyObservation(
  fill: FillEvent,
  account: AccountState,
  market: MarketSnapshot,
  ownRecommendation: Recommendation,
  cfg: DetectionConfig,
): FirstBuy | undefined {
  if (fill.side !== 'buy') return undefined;
  const sym = newPairHistory(account, fill.symbol, fill.timestamp, cfg);
  if (!sym) return undefined;
  if (illiquidity(market, cfg).score < cfg.campaign.minIlliquidity) return undefined;
  const meta = fill.apiKeyId ? account.km?.[fill.apiKeyId] : undefined;
  const ref = market.reference?.price;
  const sizeRatio =
    sym.q === undefined ? undefined : sizeAgainstHabit(account, sym.q, fill.timestamp, cfg)?.ratio;
  const ip = latestIp(meta);
  const newIp = newClientIp(meta, fill.timestamp, cfg.keyContext.windowMs) !== undefined;
  const keyActivity = fill.apiKeyId ? account.keys[fill.apiKeyId] : undefined;
  const freshIp =
    !newIp &&
    meta?.ips?.length === 1 &&
    keyActivity !== undefined &&
    fill.timestamp - keyActivity.f <= cfg.keyContext.windowMs;
  return {
    type: 'first_buy',
    exchange: fill.exchange,
    symbol: fill.symbol,
    accountId: fill.accountId,
    ...(fill.apiKeyId ? { apiKeyId: fill.apiKeyId } : {}),
    fillId: fill.id,
    orderId: fill.order,
    timestamp: fill.timestamp,
    price: fill.price,
    amount: fill.amount,
    ...(ref !== undefined ? { referencePrice: ref, premium: round(fill.price / ref - 1, 5) } : {}),
    ...(market.live
      ? {
          livePremium: round(premiumBeyond(fill.price, liveBar(market.live, 'buy'), 'buy'), 5),
          ...(isQuietMarket(market.live, cfg.liveMarket) ? { quietMarket: true } : {}),
        }
      : {}),
    ...(sizeRatio !== undefined
      ? { sizeRatio: round(sizeRatio, 3), habitOrders: ordersBefore(account, fill.timestamp) }
      : {}),
    ...(fill.counterpartyAccountId ? { counterpartyAccountId: fill.counterpartyAccountId } : {}),
    ...(ip ? { clientIp: ip } : {}),
    newClientIp: newIp,
    ...(freshIp ? { freshClientIp: true } : {}),
    ...(meta?.lb ? { label: meta.lb } : {}),
    accountRecommendation: ownRecommendation,
  };
}
