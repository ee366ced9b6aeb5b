/**
 * What the workers tell the campaign aggregator. Each worker sees only the accounts of its own
 * partitions; a campaign spans accounts on every partition. So a worker re-keys the little that
 * matters across accounts onto an internal topic — each first buy of an illiquid pair, keyed by
 * exchange and symbol, and each anomalous key that has a label, keyed by exchange and label — and
 * the aggregator that owns that key sees all of it. Records are published in the same acked send
 * as the worker's alerts, before its offsets are committed: nothing is lost, and a redelivered
 * batch repeats records the aggregator recognises by id.
 */
import { z } from 'zod';
import { recommendationSchema } from './schema.js';

const nonEmpty = z.string().min(1);
const timestamp = z.number().int().nonnegative();

/** A buy fill in a pair new to the account, in an illiquid market. */
export const firstBuySchema = z.object({
  type: z.literal('first_buy'),
  exchange: nonEmpty,
  symbol: nonEmpty,
  accountId: nonEmpty,
  apiKeyId: nonEmpty.optional(),
  fillId: nonEmpty,
  orderId: nonEmpty,
  timestamp,
  price: z.number().positive(),
  amount: z.number().positive(),
  /** The reference price when it was known, and the fill's premium over it (0.05 = +5 %). */
  referencePrice: z.number().positive().optional(),
  premium: z.number().optional(),
  /** The fill's premium over what other accounts paid just before it (the live market), when known. */
  livePremium: z.number().optional(),
  /**
   * A quiet market: fewer than `liveMarket.minPrints` other accounts' prints in the pair within
   * `liveMarket.windowMs` before the fill (the live market reached back to older prints): the
   * worker's own market at that event, the same in a replay.
   */
  quietMarket: z.boolean().optional(),
  /** What the account has bought in the pair against its usual largest order (when it has a previous day). */
  sizeRatio: z.number().nonnegative().optional(),
  /**
   * The orders the account placed on the days before (at most 100), which `sizeRatio`'s usual
   * largest order was read from: how well its habit is known. The largest of one order is no habit.
   */
  habitOrders: z.number().int().nonnegative().optional(),
  counterpartyAccountId: nonEmpty.optional(),
  clientIp: nonEmpty.optional(),
  /** The key started using this client IP within the key-context window. */
  newClientIp: z.boolean(),
  /**
   * The key's only client IP, first used within the key-context window: a key with no history of
   * its own (a key never traded through, now driven from wherever its first orders come from). Not
   * a new IP, and not a server the key had used before either.
   */
  freshClientIp: z.boolean().optional(),
  label: nonEmpty.optional(),
  /** What the account's own detectors made of it. */
  accountRecommendation: recommendationSchema,
});

/** A keyed account alert (review or above) whose key has a label: a leak-cohort data point. */
export const keyAnomalySchema = z.object({
  type: z.literal('key_anomaly'),
  exchange: nonEmpty,
  label: nonEmpty,
  accountId: nonEmpty,
  apiKeyId: nonEmpty,
  timestamp,
  alertId: nonEmpty,
  recommendation: recommendationSchema,
  score: z.number().min(0).max(1),
  symbol: nonEmpty.optional(),
});

export const observationSchema = z.discriminatedUnion('type', [firstBuySchema, keyAnomalySchema]);

export type FirstBuy = z.infer<typeof firstBuySchema>;
export type KeyAnomaly = z.infer<typeof keyAnomalySchema>;
export type Observation = z.infer<typeof observationSchema>;

/** The aggregation key: every record with the same key goes to one partition, one aggregator. */
export function groupKeyOf(o: Observation): string {
  return o.type === 'first_buy'
    ? `symbol\u0000${o.exchange}\u0000${o.symbol}`
    : `cohort\u0000${o.exchange}\u0000${o.label}`;
}

/** An observation as a record of the observations topic: keyed by its group, JSON. */
export function observationRecord(o: Observation): { key: string; value: string } {
  return { key: groupKeyOf(o), value: JSON.stringify(o) };
}

/** A stable id per record, to recognise a redelivered one. */
export function observationIdOf(o: Observation): string {
  return o.type === 'first_buy' ? `fb:${o.fillId}` : `ka:${o.alertId}`;
}
