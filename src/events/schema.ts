/**
 * The public event contract (../shared/docs/events.md), as zod schemas. Types are derived from
 * these schemas, never written by hand. Unknown fields are stripped on decode, so a secret that a
 * producer puts into an event never travels further than the decoder.
 */
import { z } from 'zod';

const timestamp = z.number().int().nonnegative().finite();
const symbol = z.string().regex(/^[^/\s]+\/[^/\s]+$/, 'expected a ccxt unified symbol BASE/QUOTE');
const nonEmpty = z.string().min(1);
const positive = z.number().positive().finite();
const side = z.enum(['buy', 'sell']);

const base = {
  exchange: nonEmpty,
  timestamp,
  symbol,
};

export const orderEventSchema = z.object({
  kind: z.literal('order'),
  ...base,
  id: nonEmpty,
  accountId: nonEmpty,
  apiKeyId: nonEmpty.optional(),
  type: nonEmpty,
  side,
  price: positive.optional(),
  amount: positive,
  status: z.enum(['open', 'closed', 'canceled', 'rejected', 'expired']),
  filled: z.number().nonnegative().finite().optional(),
  clientIp: nonEmpty.optional(),
});

export const fillEventSchema = z.object({
  kind: z.literal('fill'),
  ...base,
  id: nonEmpty,
  order: nonEmpty,
  accountId: nonEmpty,
  apiKeyId: nonEmpty.optional(),
  side,
  price: positive,
  amount: positive,
  cost: z.number().nonnegative().finite().optional(),
  takerOrMaker: z.enum(['taker', 'maker']).optional(),
  counterpartyAccountId: nonEmpty.optional(),
});

export const tradeEventSchema = z.object({
  kind: z.literal('trade'),
  ...base,
  id: nonEmpty,
  price: positive,
  amount: positive,
  side: side.optional(),
});

const optionalPrice = positive.optional();
export const tickerEventSchema = z.object({
  kind: z.literal('ticker'),
  ...base,
  bid: optionalPrice,
  ask: optionalPrice,
  last: optionalPrice,
  baseVolume: z.number().nonnegative().finite().optional(),
  quoteVolume: z.number().nonnegative().finite().optional(),
});

export const apiKeyEventSchema = z.object({
  kind: z.literal('apikey'),
  exchange: nonEmpty,
  timestamp,
  symbol: symbol.optional(),
  accountId: nonEmpty,
  apiKeyId: nonEmpty,
  action: z.enum(['created', 'revoked', 'permissions_changed']),
  createdAt: timestamp.optional(),
  permissions: z.array(z.string()).optional(),
  label: z.string().optional(),
});

export const inputEventSchema = z.discriminatedUnion('kind', [
  orderEventSchema,
  fillEventSchema,
  tradeEventSchema,
  tickerEventSchema,
  apiKeyEventSchema,
]);

export type OrderEvent = z.infer<typeof orderEventSchema>;
export type FillEvent = z.infer<typeof fillEventSchema>;
export type TradeEvent = z.infer<typeof tradeEventSchema>;
export type TickerEvent = z.infer<typeof tickerEventSchema>;
export type ApiKeyEvent = z.infer<typeof apiKeyEventSchema>;
export type InputEvent = z.infer<typeof inputEventSchema>;
export type AccountEvent = OrderEvent | FillEvent;
export type MarketEvent = TradeEvent | TickerEvent;
export type EventKind = InputEvent['kind'];

export const detectorNames = [
  'trade_burst',
  'new_illiquid_pair',
  'off_market_fill',
  'key_context',
  'campaign_fan_in',
  'leak_cohort',
] as const;
export type DetectorName = (typeof detectorNames)[number];

export const severitySchema = z.enum(['low', 'medium', 'high', 'critical']);
export const recommendationSchema = z.enum(['none', 'review', 'revoke_key', 'freeze_account']);
export type Severity = z.infer<typeof severitySchema>;
export type Recommendation = z.infer<typeof recommendationSchema>;

/** Evidence is human-readable numbers plus a one-line summary; values are numbers or short strings. */
export const evidenceSchema = z.record(z.string(), z.union([z.number(), z.string(), z.boolean()]));

export const signalSchema = z.object({
  detector: z.string(),
  score: z.number().min(0).max(1),
  evidence: evidenceSchema,
});

export const alertSchema = z.object({
  alertId: nonEmpty,
  exchange: nonEmpty,
  accountId: nonEmpty,
  apiKeyId: nonEmpty.optional(),
  timestamp,
  severity: severitySchema,
  score: z.number().min(0).max(1),
  recommendation: recommendationSchema,
  signals: z.array(signalSchema),
  eventIds: z.array(z.string()),
  // Optional extensions (the contract allows optional fields):
  symbol: symbol.optional(),
  valueAtRisk: z.number().nonnegative().optional(),
  valueAtRiskCurrency: z.string().optional(),
  /** `platform`: an alert about the whole platform (e.g. the revocation circuit breaker), not one account. */
  scope: z.enum(['account', 'platform']).optional(),
  /** Set on every alert a campaign raised (victims, counterparties): the same id across them. */
  campaignId: z.string().optional(),
  /** A leak-cohort alert: the key label (third-party platform) whose keys turned anomalous together. */
  cohort: z.string().optional(),
});

export type Signal = z.infer<typeof signalSchema>;
export type Evidence = z.infer<typeof evidenceSchema>;
export type Alert = z.infer<typeof alertSchema>;

export function isAccountEvent(e: InputEvent): e is AccountEvent {
  return e.kind === 'order' || e.kind === 'fill';
}

export function isMarketEvent(e: InputEvent): e is MarketEvent {
  return e.kind === 'trade' || e.kind === 'ticker';
}
