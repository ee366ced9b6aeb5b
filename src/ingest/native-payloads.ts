/**
 * Exchange-native payloads → ccxt unified objects, through ccxt's own parsers, so the mapping
 * follows ccxt (and its fixes) rather than a hand-written copy: Binance, KuCoin and Coinbase
 * (Advanced Trade) private trades (`fetchMyTrades` responses) and orders (`fetchOrders`,
 * `fetchOpenOrders`, `fetchClosedOrders`, Coinbase's historical fills and orders batches), and
 * Binance's spot user-data `executionReport` message (an order update, and a trade when it
 * reports an execution).
 */
import ccxt, { type Exchange, type Market, type Order, type Trade } from 'ccxt';
import { UsageError } from '../errors.js';

export const NATIVE_EXCHANGES = ['binance', 'kucoin', 'coinbase'] as const;
export type NativeExchange = (typeof NATIVE_EXCHANGES)[number];
export const NATIVE_KINDS = ['trades', 'orders', 'executionReport'] as const;
export type NativeKind = (typeof NATIVE_KINDS)[number];

/** A spot market as ccxt needs it to parse: the exchange's id for `BASE/QUOTE` (Coinbase's product id). */
export function spotMarket(exchange: NativeExchange, symbol: string): Market {
  const [base, quote] = symbol.split('/') as [string, string];
  const id = exchange === 'binance' ? `${base}${quote}` : `${base}-${quote}`;
  return {
    id,
    symbol,
    base,
    quote,
    baseId: base,
    quoteId: quote,
    type: 'spot',
    spot: true,
    margin: false,
    swap: false,
    future: false,
    option: false,
    contract: false,
    active: true,
    precision: {},
    limits: {},
    info: {},
  } as unknown as Market;
}

/** A ccxt client that never calls the network: it only parses, with the given markets. */
export function parserFor(exchange: NativeExchange, symbols: readonly string[], pro = false): Exchange {
  const Ctor = pro ? ccxt.pro[exchange] : ccxt[exchange];
  const client = new Ctor({ enableRateLimit: false }) as Exchange;
  client.setMarkets(symbols.map((s) => spotMarket(exchange, s)));
  return client;
}

/**
 * The list inside a response: Binance answers with an array, KuCoin with `{ data: { items } }` or
 * `{ data: [...] }`, Coinbase with `{ fills: [...] }`, `{ orders: [...] }` or `{ order: {...} }`.
 */
function items(raw: unknown): unknown[] {
  if (Array.isArray(raw)) return raw;
  const body = raw as { data?: unknown; fills?: unknown; orders?: unknown; order?: unknown };
  for (const list of [body?.fills, body?.orders]) if (Array.isArray(list)) return list;
  if (body?.order && typeof body.order === 'object') return [body.order];
  const data = body?.data;
  if (Array.isArray(data)) return data;
  const nested = (data as { items?: unknown })?.items;
  if (Array.isArray(nested)) return nested;
  return [raw];
}

export interface ParsedPayload {
  trades: Trade[];
  orders: Order[];
}

/**
 * Parses one native payload. `symbols` lists the markets it may mention (ccxt maps the
 * exchange's market ids back to unified symbols with them).
 */
export function parseNativePayload(
  exchange: NativeExchange,
  kind: NativeKind,
  raw: unknown,
  symbols: readonly string[],
): ParsedPayload {
  if (kind === 'executionReport') {
    if (exchange !== 'binance') throw new UsageError('executionReport is a Binance user-data message');
    const client = parserFor(exchange, symbols, true) as Exchange & {
      parseWsOrder(m: unknown, market?: Market): Order;
      parseWsTrade(m: unknown, market?: Market): Trade;
    };
    const trades: Trade[] = [];
    const orders: Order[] = [];
    for (const m of items(raw)) {
      const msg = m as { e?: string; x?: string };
      if (msg.e !== 'executionReport') continue;
      orders.push(client.parseWsOrder(msg));
      if (msg.x === 'TRADE') trades.push(client.parseWsTrade(msg));
    }
    return { trades, orders };
  }
  const client = parserFor(exchange, symbols);
  const list = items(raw);
  return kind === 'trades'
    ? { trades: client.parseTrades(list as never[]), orders: [] }
    : { trades: [], orders: client.parseOrders(list as never[]) };
}
