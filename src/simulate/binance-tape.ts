/**
 * Loads a real Binance pump tape (../shared/data/binance-pumps, GPL: read in place, never copied)
 * as a simulated market: every aggregated public trade in a window around the labelled pump.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { TradeEvent } from '../events/schema.js';
import type { SimMarket } from './sim-market.js';

export interface TapeLabel {
  file: string;
  symbol: string;
  pumpAt: number;
}

function utc(text: string): number {
  const iso = text.trim().replace(' ', 'T');
  return Date.parse(iso.length === 16 ? `${iso}:00Z` : `${iso}Z`);
}

export function readTapeLabels(dir: string): TapeLabel[] {
  const lines = readFileSync(path.join(dir, 'labels.csv'), 'utf8').trim().split('\n').slice(1);
  return lines.map((line) => {
    const [file, symbol, , start5s] = line.split(',');
    return { file: file!, symbol: symbol!, pumpAt: utc(start5s!) };
  });
}

export function loadTape(
  dir: string,
  label: TapeLabel,
  from: number,
  to: number,
  symbol = label.symbol,
): SimMarket {
  const text = gunzipSync(readFileSync(path.join(dir, label.file))).toString('utf8');
  const prints: TradeEvent[] = [];
  const base = symbol.replace('/', '');
  let n = 0;
  for (const line of text.split('\n').slice(1)) {
    if (!line) continue;
    const [, ts, , side, price, amount] = line.split(',');
    const timestamp = Number(ts);
    if (timestamp < from || timestamp >= to) continue;
    prints.push({
      kind: 'trade',
      exchange: 'binance',
      symbol,
      timestamp,
      id: `${base}-${++n}`,
      price: Number(price),
      amount: Number(amount),
      side: side === 'sell' ? 'sell' : 'buy',
    });
  }
  prints.sort((a, b) => a.timestamp - b.timestamp);
  return { exchange: 'binance', symbol, liquid: false, prints, tickers: [], pumpAt: label.pumpAt };
}
