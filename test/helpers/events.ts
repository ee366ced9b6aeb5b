import type { FillEvent, OrderEvent, TickerEvent, TradeEvent } from '../../src/events/schema.js';

export const T0 = Date.UTC(2022, 10, 14, 12, 0, 0);
export const MIN = 60_000;
export const DAY = 86_400_000;

let n = 0;
export function order(over: Partial<OrderEvent> = {}): OrderEvent {
  const id = over.id ?? `o${++n}`;
  return {
    kind: 'order',
    exchange: 'binance',
    symbol: 'YOYOW/BTC',
    timestamp: T0,
    id,
    accountId: 'acct-1',
    apiKeyId: 'key-1',
    type: 'limit',
    side: 'buy',
    price: 0.000001,
    amount: 1000,
    status: 'closed',
    ...over,
  };
}

export function fill(over: Partial<FillEvent> = {}): FillEvent {
  return {
    kind: 'fill',
    exchange: 'binance',
    symbol: 'YOYOW/BTC',
    timestamp: T0,
    id: `f${++n}`,
    order: over.order ?? `o${++n}`,
    accountId: 'acct-1',
    apiKeyId: 'key-1',
    side: 'buy',
    price: 0.000001,
    amount: 1000,
    ...over,
  };
}

export function print(over: Partial<TradeEvent> = {}): TradeEvent {
  return {
    kind: 'trade',
    exchange: 'binance',
    symbol: 'YOYOW/BTC',
    timestamp: T0,
    id: `p${++n}`,
    price: 0.000001,
    amount: 1000,
    ...over,
  };
}

export function ticker(over: Partial<TickerEvent> = {}): TickerEvent {
  return { kind: 'ticker', exchange: 'binance', symbol: 'YOYOW/BTC', timestamp: T0, ...over };
}

/** One print a minute at `price` for `minutes` minutes ending at `end` (exclusive). */
export function flatTape(price: number, end: number, minutes: number, symbol = 'YOYOW/BTC'): TradeEvent[] {
  return Array.from({ length: minutes }, (_, i) =>
    print({
      symbol,
      price: price * (1 + ((i % 3) - 1) * 0.002),
      timestamp: end - (minutes - i) * MIN + 1_000,
    }),
  );
}
