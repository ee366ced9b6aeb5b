/**
 * The public event contract (../shared/docs/events.md), as zod schemas. Types are derived from
 * these schemas, never written by hand. Unknown fields are stripped on decode, so a secret that a
 * producer puts into an event never travels further than the decoder.
 */
import { z } from 'zod';

const timestamp = z.number().int().nonnegative().finite();
/**
 * Identifiers (exchange, account, key, order, trade ids, client IPs, symbols): 1–256 visible
 * characters of any script — letters, marks, digits, punctuation, symbols. No spaces, control,
 * format (zero-width joiners and the like), private-use or unassigned characters: an id must not
 * look like another account's id while being a different string.
 */
export const ID_CHARACTERS = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]+$/u;
const ID_MESSAGE = 'expected 1–256 visible characters (no spaces, control or invisible characters)';
const identifier = z.string().min(1).max(256).regex(ID_CHARACTERS, ID_MESSAGE);
const symbol = z
  .string()
  .max(256)
  .regex(/^[^/\s]+\/[^/\s]+$/, 'expected a ccxt unified symbol BASE/QUOTE')
  .regex(ID_CHARACTERS, ID_MESSAGE);
/** Free text shown to people (key labels): visible characters and plain spaces. */
const label = z
  .string()
  .max(256)
  .regex(/^[\p{L}\p{M}\p{N}\p{P}\p{S} ]*$/u, 'expected visible characters and spaces only');
const nonEmpty = z.string().min(1);
const positive = z.number().positive().finite();
const side = z.enum(['buy', 'sell']);

const base = {
  exchange: identifier,
  timestamp,
  symbol,
};

export const orderEventSchema = z.object({
  kind: z.literal('order'),
  ...base,
  id: identifier,
  accountId: identifier,
  apiKeyId: identifier.optional(),
  type: nonEmpty,
  side,
  price: positive.optional(),
  amount: positive,
  status: z.enum(['open', 'closed', 'canceled', 'rejected', 'expired']),
  filled: z.number().nonnegative().finite().optional(),
  clientIp: identifier.optional(),
});

export const fillEventSchema = z.object({
  kind: z.literal('fill'),
  ...base,
  id: identifier,
  order: identifier,
  accountId: identifier,
  apiKeyId: identifier.optional(),
  side,
  price: positive,
  amount: positive,
  cost: z.number().nonnegative().finite().optional(),
  takerOrMaker: z.enum(['taker', 'maker']).optional(),
  counterpartyAccountId: identifier.optional(),
});

export const tradeEventSchema = z.object({
  kind: z.literal('trade'),
  ...base,
  id: identifier,
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
  exchange: identifier,
  timestamp,
  symbol: symbol.optional(),
  accountId: identifier,
  apiKeyId: identifier,
  action: z.enum(['created', 'revoked', 'permissions_changed']),
  createdAt: timestamp.optional(),
  permissions: z.array(z.string()).optional(),
  label: label.optional(),
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
  'above_live_market',
  'unusual_size',
  'order_climb',
  'funding_sell',
  'campaign_fan_in',
  'leak_cohort',
] as const;
export type DetectorName = (typeof detectorNames)[number];

export const severitySchema = z.enum(['low', 'medium', 'high', 'critical']);
export const recommendationSchema = z.enum(['none', 'review', 'revoke_key', 'freeze_account']);
export type Severity = z.infer<typeof severitySchema>;
export type Recommendation = z.infer<typeof recommendationSchema>;

/** The recommendations in rising order of action: `revoke_key` and above are automatic actions. */
export const RECOMMENDATION_LEVEL: Record<Recommendation, number> = {
  none: 0,
  review: 1,
  revoke_key: 2,
  freeze_account: 3,
};

/** Evidence is human-readable numbers plus a one-line summary; values are numbers or short strings. */
export const evidenceSchema = z.record(z.string(), z.union([z.number(), z.string(), z.boolean()]));

export const signalSchema = z.object({
  detector: z.string(),
  score: z.number().min(0).max(1),
  evidence: evidenceSchema,
});

export const alertSchema = z.object({
  /** The record's schema version (`RECORD_SCHEMA_VERSION`, events/records.ts); absent before version 1. */
  schemaVersion: z.number().int().positive().optional(),
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
  /** The same in one unit for every pair (USD at `size.quoteUsd`): a review queue ranks by it. */
  valueAtRiskUsd: z.number().nonnegative().optional(),
  /** `platform`: an alert about the whole platform (e.g. the revocation circuit breaker), not one account. */
  scope: z.enum(['account', 'platform']).optional(),
  /** Set on every alert a campaign raised (victims, counterparties): the same id across them. */
  campaignId: z.string().optional(),
  /** A leak-cohort alert: the key label (third-party platform) whose keys turned anomalous together. */
  cohort: z.string().optional(),
  /** The detection config version that scored it (a hash of the config: docs/configuration.md, Changing thresholds at run time). */
  configVersion: z.string().optional(),
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
