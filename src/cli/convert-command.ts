import { readFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import type { Order, Trade } from 'ccxt';
import { UsageError } from '../errors.js';
import type { DecodeResult } from '../events/decode.js';
import { fillFromCcxtTrade, orderFromCcxtOrder } from '../ingest/ccxt-events.js';
import {
  NATIVE_EXCHANGES,
  NATIVE_KINDS,
  type NativeExchange,
  type NativeKind,
  parseNativePayload,
} from '../ingest/native-payloads.js';

const KINDS = [...NATIVE_KINDS, 'ccxt-trades', 'ccxt-orders'] as const;

function parsePayload(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // A stream of messages, one per line.
    return text
      .split('\n')
      .map((l, i) => ({ l: l.trim(), n: i + 1 }))
      .filter(({ l }) => l.length > 0)
      .map(({ l, n }) => {
        try {
          return JSON.parse(l);
        } catch (err) {
          throw new UsageError(`line ${n}: not JSON: ${(err as Error).message}`);
        }
      });
  }
}

export function convertCommand(argv: string[], stdout: Writable, stderr: Writable): number {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      exchange: { type: 'string' },
      kind: { type: 'string' },
      account: { type: 'string' },
      'api-key': { type: 'string' },
      symbols: { type: 'string' },
    },
  });
  const exchange = values.exchange;
  const kind = values.kind as (typeof KINDS)[number] | undefined;
  if (!exchange || !kind || !values.account)
    throw new UsageError('--exchange, --kind and --account are required');
  if (!KINDS.includes(kind)) throw new UsageError(`--kind must be one of ${KINDS.join(', ')}`);
  const file = positionals[0];
  let text: string;
  try {
    text = readFileSync(file ?? 0, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file ?? 'stdin'}: ${(err as Error).message}`);
  }
  const payload = parsePayload(text);
  const ctx = {
    exchange,
    accountId: values.account,
    ...(values['api-key'] ? { apiKeyId: values['api-key'] } : {}),
  };
  const results: Array<{ what: string; r: DecodeResult }> = [];
  if (kind === 'ccxt-trades' || kind === 'ccxt-orders') {
    const list = Array.isArray(payload) ? payload : [payload];
    for (const [i, o] of list.entries()) {
      const r =
        kind === 'ccxt-trades' ? fillFromCcxtTrade(o as Trade, ctx) : orderFromCcxtOrder(o as Order, ctx);
      results.push({ what: `item ${i + 1}`, r });
    }
  } else {
    if (!NATIVE_EXCHANGES.includes(exchange as NativeExchange)) {
      throw new UsageError(
        `native payloads are parsed for ${NATIVE_EXCHANGES.join(', ')} (or use --kind ccxt-trades/ccxt-orders)`,
      );
    }
    const symbols = (values.symbols ?? '').split(',').filter((s) => s.includes('/'));
    if (symbols.length === 0)
      throw new UsageError('--symbols is required for native payloads (e.g. --symbols LTC/USDT,BTC/USDT)');
    const parsed = parseNativePayload(exchange as NativeExchange, kind as NativeKind, payload, symbols);
    for (const [i, o] of parsed.orders.entries()) {
      results.push({ what: `order ${i + 1} (${o.id})`, r: orderFromCcxtOrder(o, ctx) });
    }
    for (const [i, t] of parsed.trades.entries()) {
      results.push({ what: `trade ${i + 1} (${t.id})`, r: fillFromCcxtTrade(t, ctx) });
    }
  }
  let rejected = 0;
  for (const { what, r } of results) {
    if (r.ok) stdout.write(`${JSON.stringify(r.event)}\n`);
    else {
      rejected++;
      stderr.write(`${file ?? 'stdin'}: ${what}: ${r.code}: ${r.reason}\n`);
    }
  }
  stderr.write(`keyguard convert: ${results.length - rejected} events, ${rejected} rejected\n`);
  return rejected > 0 ? 3 : 0;
}
