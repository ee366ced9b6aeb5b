/**
 * Native payloads and ccxt unified objects → contract events, against ccxt's own fixtures: the raw
 * exchange response and ccxt's parsed result (test/fixtures/ccxt, MIT, origin in its README).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Order, Trade } from 'ccxt';
import { describe, expect, it } from 'vitest';
import type { FillEvent, OrderEvent } from '../../src/events/schema.js';
import { fillFromCcxtTrade, orderFromCcxtOrder } from '../../src/ingest/ccxt-events.js';
import {
  type NativeExchange,
  type NativeKind,
  parseNativePayload,
} from '../../src/ingest/native-payloads.js';
import { runCli } from '../helpers/cli.js';

interface Case {
  description: string;
  httpResponse: unknown;
  parsedResponse: Array<Record<string, unknown>>;
}
const fixtures = (exchange: string) =>
  JSON.parse(readFileSync(`test/fixtures/ccxt/${exchange}.json`, 'utf8')) as {
    methods: Record<string, Case[]>;
  };

const ctx = { exchange: 'binance', accountId: 'acct-1', apiKeyId: 'key-1' };

const cases: Array<[NativeExchange, string, NativeKind]> = [
  ['binance', 'fetchMyTrades', 'trades'],
  ['binance', 'fetchOrders', 'orders'],
  ['binance', 'fetchOpenOrders', 'orders'],
  ['kucoin', 'fetchMyTrades', 'trades'],
  ['kucoin', 'fetchClosedOrders', 'orders'],
  ['kucoin', 'fetchOpenOrders', 'orders'],
  ['coinbase', 'fetchMyTrades', 'trades'],
  ['coinbase', 'fetchClosedOrders', 'orders'],
];

describe('native payloads through ccxt parsers (ccxt fixtures as ground truth)', () => {
  for (const [exchange, method, kind] of cases) {
    for (const c of fixtures(exchange).methods[method] ?? []) {
      it(`${exchange} ${method}: ${c.description}`, () => {
        const parsed = parseNativePayload(exchange, kind, c.httpResponse, ['LTC/USDT', 'ADA/USDT']);
        const ours = kind === 'trades' ? parsed.trades : parsed.orders;
        expect(ours).toHaveLength(c.parsedResponse.length);
        ours.forEach((obj, i) => {
          const truth = c.parsedResponse[i]!;
          const account = { ...ctx, exchange };
          if (kind === 'trades') {
            const r = fillFromCcxtTrade(obj as Trade, account);
            if (!r.ok) throw new Error(r.reason);
            const e = r.event as FillEvent;
            expect(e).toMatchObject({
              kind: 'fill',
              exchange,
              accountId: 'acct-1',
              apiKeyId: 'key-1',
              id: truth.id,
              order: truth.order,
              symbol: truth.symbol,
              timestamp: truth.timestamp,
              side: truth.side,
              price: truth.price,
              amount: truth.amount,
              cost: truth.cost,
              takerOrMaker: truth.takerOrMaker,
            });
          } else {
            const r = orderFromCcxtOrder(obj as Order, account);
            if (!r.ok) throw new Error(r.reason);
            const e = r.event as OrderEvent;
            expect(e).toMatchObject({
              kind: 'order',
              exchange,
              id: truth.id,
              symbol: truth.symbol,
              timestamp: truth.timestamp,
              type: truth.type,
              side: truth.side,
              amount: truth.amount,
              status: truth.status,
              filled: truth.filled,
            });
            expect(e.price).toBe(truth.price || undefined);
          }
        });
      });
    }
  }
});

describe('Binance spot user-data executionReport', () => {
  // The message shape of Binance's user data stream documentation (our own example values).
  const report = (x: string, X: string, extra: Record<string, unknown> = {}) => ({
    e: 'executionReport',
    E: 1_700_000_000_100,
    s: 'LTCUSDT',
    c: 'client-1',
    S: 'BUY',
    o: 'LIMIT',
    f: 'GTC',
    q: '2.00000000',
    p: '70.10000000',
    x,
    X,
    i: 4293153,
    l: '0.00000000',
    z: '0.00000000',
    L: '0.00000000',
    n: '0',
    N: null,
    T: 1_700_000_000_050,
    t: -1,
    m: false,
    O: 1_700_000_000_000,
    Z: '0.00000000',
    ...extra,
  });

  it('turns a NEW report into an order, and a TRADE report into an order update and a fill', () => {
    const parsed = parseNativePayload(
      'binance',
      'executionReport',
      [
        report('NEW', 'NEW'),
        report('TRADE', 'PARTIALLY_FILLED', {
          l: '0.5',
          z: '0.5',
          L: '70.1',
          t: 77,
          Z: '35.05',
          T: 1_700_000_000_060,
        }),
        { e: 'outboundAccountPosition' },
      ],
      ['LTC/USDT'],
    );
    expect(parsed.orders).toHaveLength(2);
    expect(parsed.trades).toHaveLength(1);
    const order = orderFromCcxtOrder(parsed.orders[0]!, ctx);
    expect(order.ok && order.event).toMatchObject({
      kind: 'order',
      id: '4293153',
      symbol: 'LTC/USDT',
      side: 'buy',
      type: 'limit',
      price: 70.1,
      amount: 2,
      status: 'open',
      timestamp: 1_700_000_000_000,
    });
    const fill = fillFromCcxtTrade(parsed.trades[0]!, ctx);
    expect(fill.ok && fill.event).toMatchObject({
      kind: 'fill',
      id: '77',
      order: '4293153',
      symbol: 'LTC/USDT',
      side: 'buy',
      price: 70.1,
      amount: 0.5,
      takerOrMaker: 'taker',
      timestamp: 1_700_000_000_060,
    });
  });
});

describe('ccxt unified objects', () => {
  it('are rejected with the field named when the contract cannot be met, never half-converted', () => {
    const r = fillFromCcxtTrade(
      { id: 't1', symbol: 'LTC/USDT', side: 'buy', price: 70, amount: 1 } as Trade,
      ctx,
    );
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toMatch(/timestamp|order/);
    const o = orderFromCcxtOrder(
      {
        id: 'o1',
        symbol: 'LTC/USDT',
        side: 'buy',
        type: 'limit',
        amount: 1,
        timestamp: 1,
        status: 'weird',
      } as Order,
      ctx,
    );
    expect(!o.ok && o.reason).toMatch(/status/);
  });
});

describe('keyguard convert', () => {
  it('prints contract events for a native payload, and names what it rejects (exit 3)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'keyguard-convert-'));
    const file = path.join(dir, 'trades.json');
    writeFileSync(file, JSON.stringify(fixtures('kucoin').methods.fetchMyTrades![0]!.httpResponse));
    const ok = await runCli([
      'convert',
      '--exchange',
      'kucoin',
      '--kind',
      'trades',
      '--account',
      'a1',
      '--symbols',
      'LTC/USDT',
      file,
    ]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout.trim())).toMatchObject({
      kind: 'fill',
      exchange: 'kucoin',
      accountId: 'a1',
      id: '3607194733924353',
    });
    const objects = path.join(dir, 'objects.json');
    writeFileSync(objects, JSON.stringify([{ id: 'x' }]));
    const bad = await runCli([
      'convert',
      '--exchange',
      'bybit',
      '--kind',
      'ccxt-trades',
      '--account',
      'a1',
      objects,
    ]);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/item 1: KG_ERR_EVENT_INVALID: timestamp/);
    const usage = await runCli([
      'convert',
      '--exchange',
      'kucoin',
      '--kind',
      'trades',
      '--account',
      'a1',
      file,
    ]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--symbols is required/);
  });

  it('converts Coinbase Advanced Trade historical orders and fills (an orders batch, then a fills page)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'keyguard-convert-'));
    const cb = fixtures('coinbase').methods;
    const run = async (kind: string, body: unknown) => {
      const file = path.join(dir, `${kind}.json`);
      writeFileSync(file, JSON.stringify(body));
      const r = await runCli([
        'convert',
        '--exchange',
        'coinbase',
        '--kind',
        kind,
        '--account',
        'a1',
        '--api-key',
        'k1',
        '--symbols',
        'ADA/USDT',
        file,
      ]);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
    };
    expect(await run('orders', cb.fetchClosedOrders![0]!.httpResponse)).toMatchObject([
      {
        kind: 'order',
        exchange: 'coinbase',
        accountId: 'a1',
        apiKeyId: 'k1',
        id: '01b6e467-b659-432f-9490-c7cefe949564',
        symbol: 'ADA/USDT',
        type: 'market',
        side: 'sell',
        status: 'closed',
        amount: 10,
        filled: 10,
      },
    ]);
    // One order as `GET /orders/historical/{id}` answers it: `{ order: {...} }`.
    const one = { order: (cb.fetchClosedOrders![0]!.httpResponse as { orders: unknown[] }).orders[0] };
    expect(await run('orders', one)).toHaveLength(1);
    expect(await run('trades', cb.fetchMyTrades![0]!.httpResponse)).toMatchObject([
      {
        kind: 'fill',
        exchange: 'coinbase',
        id: '19fc7eee-f4b4-40a7-8104-033da1db5311',
        order: '01b6e467-b659-432f-9490-c7cefe949564',
        symbol: 'ADA/USDT',
        side: 'sell',
        price: 0.392,
        amount: 10,
        takerOrMaker: 'taker',
      },
    ]);
  });
});
