/** Emits one simulated account's orders and fills (and, in thin markets, the public prints they make). */
import type { InputEvent } from '../events/schema.js';
import type { Rng } from './rng.js';
import type { SimMarket } from './sim-market.js';

export interface SimFill {
  id: string;
  timestamp: number;
  price: number;
  amount: number;
}

export interface TradeOptions {
  type?: 'limit' | 'market';
  fills?: number;
  /** The seller (or buyer) on the other side; else the stream's own counterparty picker. */
  counterpartyAccountId?: string;
  /** Fill with this probability (market makers' quotes mostly rest). */
  fillProbability?: number;
  /** The order takes liquidity (a market order, or a limit that crosses the book); default: market orders only. */
  taker?: boolean;
  /**
   * The buy first lifts cheaper asks resting in the book, in this order: one fill each, of `share`
   * of the amount at `price` from `counterpartyAccountId` (none: the fill names no seller), before
   * the fills at the order's own price.
   */
  cheaperAsks?: CheaperAsk[];
  /** A limit order's own price when it is a cap above what it pays (a pump bot buys "up to +30 %"). */
  limitPrice?: number;
}

export interface CheaperAsk {
  price: number;
  share: number;
  counterpartyAccountId?: string;
  delayMs: number;
}

export class AccountStream {
  private orders = 0;
  private fills = 0;
  /** Where the key's requests come from (orders placed with a key carry it). */
  clientIp?: string;
  /** From this time on, the key trades from `laterIp` (a bot moved to another server; '' = not reported). */
  ipChange?: { at: number; laterIp: string };
  /** Picks the other side of each fill when the exchange knows it (undefined: a platform's view). */
  counterparty?: (market: SimMarket, t: number) => string | undefined;

  constructor(
    private readonly sink: InputEvent[],
    private readonly rng: Rng,
    readonly accountId: string,
    readonly apiKeyId: string | undefined,
    readonly exchange = 'binance',
    /** Distinguishes ids when one account trades through two streams (UI and a key). */
    private readonly idTag = '',
  ) {}

  /** The key's lifecycle event: created long before the simulation, for a platform (`label`). */
  keyCreated(at: number, createdAt: number, label: string | undefined): void {
    if (!this.apiKeyId) return;
    this.sink.push({
      kind: 'apikey',
      exchange: this.exchange,
      timestamp: at,
      accountId: this.accountId,
      apiKeyId: this.apiKeyId,
      action: 'created',
      createdAt,
      ...(label ? { label } : {}),
    });
  }

  /** Places one order at `price` and fills it (in 1..n parts) within a second. */
  trade(
    t: number,
    market: SimMarket,
    side: 'buy' | 'sell',
    price: number,
    amount: number,
    opts: TradeOptions = {},
  ) {
    const orderId = `${this.accountId}-${this.idTag}o${++this.orders}`;
    const type = opts.type ?? 'limit';
    const fills =
      opts.fillProbability !== undefined && !this.rng.chance(opts.fillProbability) ? 0 : (opts.fills ?? 1);
    const key = this.apiKeyId ? { apiKeyId: this.apiKeyId } : {};
    const ip = this.apiKeyId
      ? this.ipChange && t >= this.ipChange.at
        ? this.ipChange.laterIp
        : this.clientIp
      : undefined;
    this.sink.push({
      kind: 'order',
      exchange: this.exchange,
      symbol: market.symbol,
      timestamp: t,
      id: orderId,
      accountId: this.accountId,
      ...key,
      type,
      side,
      ...(type === 'limit' ? { price: opts.limitPrice ?? price } : {}),
      amount,
      status: fills > 0 ? 'closed' : 'open',
      filled: fills > 0 ? amount : 0,
      ...(ip ? { clientIp: ip } : {}),
    });
    const out: SimFill[] = [];
    let at = t;
    const cheaper = fills > 0 ? (opts.cheaperAsks ?? []) : [];
    const rest = (amount * (1 - cheaper.reduce((sum, a) => sum + a.share, 0))) / fills;
    const legs: Array<{ price: number; part: number; counterparty?: string; sweptMs?: number }> = [
      ...cheaper.map((a) => ({
        price: a.price,
        part: amount * a.share,
        counterparty: a.counterpartyAccountId,
        sweptMs: a.delayMs,
      })),
      ...Array.from({ length: fills }, () => ({
        price,
        part: rest,
        counterparty: opts.counterpartyAccountId,
      })),
    ];
    for (const leg of legs) {
      at += leg.sweptMs ?? this.rng.int(20, 400);
      const { price, part } = leg;
      const fill: SimFill = {
        id: `${this.accountId}-${this.idTag}f${++this.fills}`,
        timestamp: at,
        price,
        amount: part,
      };
      out.push(fill);
      // A cheaper ask names its seller or none (never the stream's picker: its draws stay as they were).
      const counterparty =
        leg.sweptMs !== undefined ? leg.counterparty : (leg.counterparty ?? this.counterparty?.(market, at));
      this.sink.push({
        kind: 'fill',
        exchange: this.exchange,
        symbol: market.symbol,
        timestamp: at,
        id: fill.id,
        order: orderId,
        accountId: this.accountId,
        ...key,
        side,
        price,
        amount: part,
        cost: price * part,
        takerOrMaker: (opts.taker ?? type === 'market') ? 'taker' : 'maker',
        ...(counterparty ? { counterpartyAccountId: counterparty } : {}),
      });
      // In a thin market every fill is a visible print (the liquid tapes already carry the flow).
      if (!market.liquid) {
        this.sink.push({
          kind: 'trade',
          exchange: this.exchange,
          symbol: market.symbol,
          timestamp: at,
          id: fill.id,
          price,
          amount: part,
          side,
        });
      }
    }
    return out;
  }
}
