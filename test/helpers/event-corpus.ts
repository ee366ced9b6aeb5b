/**
 * Input events valid and broken in many ways (every field dropped or replaced by a wrong value),
 * for tests that must agree with the zod contract: the compiled validator, the published JSON
 * Schemas.
 */
import type { InputEvent } from '../../src/events/schema.js';
import { syntheticScenario } from '../../src/simulate/synthetic-scenario.js';

/** Values a field can be broken with, JSON-borne (1e400 parses as Infinity). */
const BROKEN: unknown[] = [
  null,
  '',
  ' ',
  'a b',
  'acct-\u200df',
  'x'.repeat(257),
  'BTC/USDT/X',
  -1,
  0,
  1.5,
  Number.POSITIVE_INFINITY,
  2 ** 53,
  true,
  [],
  ['a', 1],
  {},
  'open',
  'buy',
  'taker',
];

export function eventCorpus(): unknown[] {
  const events = syntheticScenario({ seed: 3, days: 2, accounts: 40, victims: 2 }).events;
  const samples = new Map<string, InputEvent[]>();
  for (const e of events) {
    const list = samples.get(e.kind) ?? [];
    if (list.length < 40) list.push(e);
    samples.set(e.kind, list);
  }
  const apikey: InputEvent = {
    kind: 'apikey',
    exchange: 'binance',
    timestamp: 1_700_000_000_000,
    accountId: 'acct-1',
    apiKeyId: 'key-1',
    action: 'created',
    createdAt: 1_699_000_000_000,
    permissions: ['spot'],
    label: '3Commas bot 7',
  };
  samples.set('apikey', [apikey]);
  const out: unknown[] = events.map((e) => JSON.parse(JSON.stringify(e)));
  out.push(apikey, null, [], 'order', 42, { kind: 'nope' }, {});
  for (const list of samples.values()) {
    for (const e of list.slice(0, 5)) {
      const fields = [...Object.keys(e), 'price', 'filled', 'clientIp', 'label', 'permissions', 'kind'];
      for (const field of fields) {
        const { [field]: _dropped, ...without } = e as Record<string, unknown>;
        out.push(without);
        for (const v of BROKEN) out.push({ ...e, [field]: v });
      }
      out.push({ ...e, apiSecret: 'must be stripped' });
    }
  }
  return out;
}
