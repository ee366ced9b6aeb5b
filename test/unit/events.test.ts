import { describe, expect, it } from 'vitest';
import { decodeEvent, eventId, MAX_EVENT_BYTES } from '../../src/events/decode.js';

// One event of each kind exactly as ../shared/docs/events.md writes them.
const contractExamples = [
  {
    kind: 'order',
    exchange: 'binance',
    timestamp: 1668427200000,
    symbol: 'YOYOW/BTC',
    id: '123',
    accountId: 'a1',
    apiKeyId: 'k1',
    type: 'limit',
    side: 'buy',
    price: 0.0000012,
    amount: 5000,
    status: 'open',
    filled: 0,
    clientIp: '203.0.113.7',
  },
  {
    kind: 'order',
    exchange: 'kucoin',
    timestamp: 1,
    symbol: 'BTC/USDT',
    id: '9',
    accountId: 'a',
    type: 'market',
    side: 'sell',
    amount: 0.1,
    status: 'closed',
  },
  {
    kind: 'fill',
    exchange: 'binance',
    timestamp: 1668427200100,
    symbol: 'YOYOW/BTC',
    id: 't1',
    order: '123',
    accountId: 'a1',
    apiKeyId: 'k1',
    side: 'buy',
    price: 0.0000012,
    amount: 5000,
    cost: 0.006,
    takerOrMaker: 'taker',
    counterpartyAccountId: 'a9',
  },
  {
    kind: 'trade',
    exchange: 'binance',
    timestamp: 1,
    symbol: 'YOYOW/BTC',
    id: 'p1',
    price: 0.0000012,
    amount: 10,
    side: 'buy',
  },
  {
    kind: 'ticker',
    exchange: 'binance',
    timestamp: 1,
    symbol: 'YOYOW/BTC',
    bid: 1,
    ask: 1.1,
    last: 1.05,
    baseVolume: 10,
    quoteVolume: 3.2,
  },
  { kind: 'ticker', exchange: 'binance', timestamp: 2, symbol: 'YOYOW/BTC' },
  {
    kind: 'apikey',
    exchange: 'binance',
    timestamp: 1,
    accountId: 'a1',
    apiKeyId: 'k1',
    action: 'created',
    createdAt: 1,
    permissions: ['spot'],
    label: '3commas',
  },
];

describe('decoding contract events', () => {
  it.each(contractExamples.map((e) => [`${e.kind} ${JSON.stringify(e).length}B`, e]))(
    'accepts %s',
    (_, e) => {
      const r = decodeEvent(JSON.stringify(e));
      expect(r.ok).toBe(true);
    },
  );

  it('names the field that is wrong', () => {
    const bad = { ...contractExamples[2], price: '0.0000012' };
    const r = decodeEvent(JSON.stringify(bad));
    expect(r).toMatchObject({ ok: false, code: 'KG_ERR_EVENT_INVALID' });
    expect(!r.ok && r.reason).toMatch(/^price: /);
  });

  it('names a missing field and an unknown kind', () => {
    const { accountId: _, ...noAccount } = contractExamples[0] as Record<string, unknown>;
    const missing = decodeEvent(JSON.stringify(noAccount));
    expect(!missing.ok && missing.reason).toMatch(/accountId/);
    const kind = decodeEvent(JSON.stringify({ ...contractExamples[0], kind: 'withdrawal' }));
    expect(!kind.ok && kind.reason).toMatch(/^kind: /);
  });

  it('rejects non-JSON, non-objects and oversized payloads with distinct codes', () => {
    expect(decodeEvent('{"kind":')).toMatchObject({ ok: false, code: 'KG_ERR_EVENT_NOT_JSON' });
    expect(decodeEvent('[1,2]')).toMatchObject({ ok: false, code: 'KG_ERR_EVENT_INVALID' });
    expect(decodeEvent('null')).toMatchObject({ ok: false, code: 'KG_ERR_EVENT_INVALID' });
    const huge = JSON.stringify({ ...contractExamples[0], padding: 'x'.repeat(MAX_EVENT_BYTES) });
    expect(decodeEvent(huge)).toMatchObject({ ok: false, code: 'KG_ERR_EVENT_TOO_LARGE' });
  });

  it('rejects symbols that are not ccxt unified and negative amounts', () => {
    expect(decodeEvent(JSON.stringify({ ...contractExamples[3], symbol: 'YOYOWBTC' })).ok).toBe(false);
    expect(decodeEvent(JSON.stringify({ ...contractExamples[3], amount: -1 })).ok).toBe(false);
  });

  it('accepts ids of any script but refuses invisible, control and space characters in them', () => {
    const withAccount = (accountId: string) =>
      decodeEvent(JSON.stringify({ ...contractExamples[0], accountId }));
    expect(withAccount('acct-43').ok).toBe(true);
    expect(withAccount('账户-43').ok).toBe(true);
    for (const bad of [
      'acct-\u200d43',
      'acct-\u000043',
      'acct 43',
      'acct-\u202e43',
      '\ue00043',
      'a'.repeat(257),
    ]) {
      const r = withAccount(bad);
      expect(r, JSON.stringify(bad)).toMatchObject({ ok: false, code: 'KG_ERR_EVENT_INVALID' });
      if (!r.ok) expect(r.reason).toMatch(/^accountId: /);
    }
    expect(decodeEvent(JSON.stringify({ ...contractExamples[0], symbol: 'YOYOW\u200b/BTC' })).ok).toBe(false);
    // Labels are text for people: spaces are fine, invisible characters are not.
    const key = contractExamples.find((e) => e.kind === 'apikey')!;
    expect(decodeEvent(JSON.stringify({ ...key, label: 'Trading Bot 3' })).ok).toBe(true);
    expect(decodeEvent(JSON.stringify({ ...key, label: 'bot\u200d' })).ok).toBe(false);
  });

  it('refuses an event dated further ahead of the clock than the allowed skew, with its own code', () => {
    const clock = { now: Date.UTC(2026, 0, 1), maxFutureSkewMs: 300_000 };
    const at = (timestamp: number) =>
      decodeEvent(JSON.stringify({ ...contractExamples[0], timestamp }), clock);
    expect(at(clock.now + 299_000).ok).toBe(true);
    expect(at(clock.now - 86_400_000 * 365 * 4).ok).toBe(true);
    const r = at(Date.UTC(3000, 0, 1));
    expect(r).toMatchObject({ ok: false, code: 'KG_ERR_EVENT_TIME_AHEAD' });
    if (!r.ok) expect(r.reason).toMatch(/^timestamp: 3000-01-01T00:00:00.000Z is \d+ s ahead of the clock/);
  });

  it('drops fields outside the contract, so a secret sent by a producer goes no further', () => {
    const r = decodeEvent(JSON.stringify({ ...contractExamples[0], apiSecret: 'hunter2', passphrase: 'p' }));
    expect(r.ok).toBe(true);
    expect(JSON.stringify(r.ok && r.event)).not.toMatch(/hunter2|passphrase/);
  });

  it('gives every kind a stable event id', () => {
    const ids = contractExamples.map((e) => {
      const r = decodeEvent(JSON.stringify(e));
      if (!r.ok) throw new Error(r.reason);
      return eventId(r.event);
    });
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids[2]).toBe('fill:t1');
  });
});
