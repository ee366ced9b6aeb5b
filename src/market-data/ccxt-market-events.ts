/** ccxt public market data (Ticker, Trade) → contract `ticker` and `trade` events. */
import { createHash } from 'node:crypto';
import type { Ticker, Trade } from 'ccxt';
import { type DecodeResult, validateEvent } from '../events/decode.js';

const defined = (o: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null));

export function tickerEvent(exchange: string, t: Ticker, now: number): DecodeResult {
  return validateEvent(
    defined({
      kind: 'ticker',
      exchange,
      symbol: t.symbol,
      timestamp: t.timestamp ?? now,
      bid: t.bid,
      ask: t.ask,
      last: t.last,
      baseVolume: t.baseVolume,
      quoteVolume: t.quoteVolume,
    }),
  );
}

/** Some venues (KuCoin) give public trades no id: a stable one is derived from what they do give. */
export function tradeId(exchange: string, t: Trade, index: number): string {
  if (t.id) return String(t.id);
  return createHash('sha256')
    .update(`${exchange}\n${t.symbol}\n${t.timestamp}\n${t.price}\n${t.amount}\n${t.side}\n${index}`)
    .digest('hex')
    .slice(0, 24);
}

export function tradeEvent(exchange: string, t: Trade, index: number): DecodeResult {
  return validateEvent(
    defined({
      kind: 'trade',
      exchange,
      symbol: t.symbol,
      timestamp: t.timestamp,
      id: tradeId(exchange, t, index),
      price: t.price,
      amount: t.amount,
      side: t.side,
    }),
  );
}
