/**
 * ccxt unified objects → contract events. A platform that already speaks ccxt (its own `Trade`
 * and `Order` objects, or ours from `native-payloads.ts`) gets contract events by adding the
 * account (and key) they belong to. The result is validated like any other input: a ccxt object
 * that lacks what the contract needs is rejected with the field named, never half-converted.
 */
import type { Order, Trade } from 'ccxt';
import { type DecodeResult, validateEvent } from '../events/decode.js';

/** Who the orders and trades belong to: the exchange never says, the caller knows. */
export interface AccountContext {
  exchange: string;
  accountId: string;
  apiKeyId?: string;
  clientIp?: string;
}

const defined = <T extends Record<string, unknown>>(o: T): Partial<T> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null)) as Partial<T>;

/** ccxt order statuses that the contract knows; anything else is left for validation to reject. */
const ORDER_STATUS: Record<string, string> = {
  open: 'open',
  closed: 'closed',
  canceled: 'canceled',
  cancelled: 'canceled',
  rejected: 'rejected',
  expired: 'expired',
};

export function fillFromCcxtTrade(trade: Trade, ctx: AccountContext): DecodeResult {
  return validateEvent(
    defined({
      kind: 'fill',
      exchange: ctx.exchange,
      timestamp: trade.timestamp,
      symbol: trade.symbol,
      id: trade.id,
      order: trade.order,
      accountId: ctx.accountId,
      apiKeyId: ctx.apiKeyId,
      side: trade.side,
      price: trade.price,
      amount: trade.amount,
      cost: trade.cost,
      takerOrMaker: trade.takerOrMaker,
    }),
  );
}

export function orderFromCcxtOrder(order: Order, ctx: AccountContext): DecodeResult {
  return validateEvent(
    defined({
      kind: 'order',
      exchange: ctx.exchange,
      timestamp: order.timestamp,
      symbol: order.symbol,
      id: order.id,
      accountId: ctx.accountId,
      apiKeyId: ctx.apiKeyId,
      type: order.type,
      side: order.side,
      // A market order carries no limit price (ccxt reports 0 or undefined for some venues).
      price: order.price ? order.price : undefined,
      amount: order.amount,
      status: ORDER_STATUS[order.status ?? ''] ?? order.status,
      filled: order.filled,
      clientIp: ctx.clientIp,
    }),
  );
}
