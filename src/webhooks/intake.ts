/**
 * Intake of recommendation records: decoding, the endpoints' filters, and the fan-out of one
 * recommendation (as the breaker leaves it) into one delivery per endpoint that wants it. Pure.
 */
import { ErrorCodes } from '../errors.js';
import { decodeRecord } from '../events/decode.js';
import { type Alert, alertSchema, severitySchema } from '../events/schema.js';
import { applyBreaker, type BreakerNote, type Delivery, deliverySchema } from './delivery.js';
import type { Endpoint } from './webhook-config.js';

const SEVERITY_RANK = Object.fromEntries(severitySchema.options.map((s, i) => [s, i])) as Record<
  string,
  number
>;

export function endpointWants(endpoint: Endpoint, rec: Alert): boolean {
  const f = endpoint.filter;
  if (f.exchanges && !f.exchanges.includes(rec.exchange)) return false;
  if (!f.recommendations.includes(rec.recommendation)) return false;
  return (SEVERITY_RANK[rec.severity] ?? 0) >= (SEVERITY_RANK[f.minSeverity] ?? 0);
}

export function decodeRecommendation(value: Buffer | null) {
  return decodeRecord(value, alertSchema, ErrorCodes.RECOMMENDATION_INVALID);
}

export function decodeDelivery(value: Buffer | null) {
  return decodeRecord(value, deliverySchema, ErrorCodes.RECOMMENDATION_INVALID);
}

export interface FanOut {
  deliveries: Delivery[];
  /** Endpoints that wanted the recommendation as it was, not the review the breaker made of it. */
  filteredByBreaker: string[];
}

/** One delivery per endpoint that wants the recommendation, first attempt due at `now`. */
export function fanOut(
  rec: Alert,
  note: Omit<BreakerNote, 'downgradedFrom'> | undefined,
  endpoints: Iterable<Endpoint>,
  now: number,
  publishedAt: number,
): FanOut {
  const final = applyBreaker(rec, note);
  const out: FanOut = { deliveries: [], filteredByBreaker: [] };
  for (const endpoint of endpoints) {
    if (!endpointWants(endpoint, final)) {
      if (note && endpointWants(endpoint, rec)) out.filteredByBreaker.push(endpoint.id);
      continue;
    }
    out.deliveries.push({
      webhookId: rec.alertId,
      endpointId: endpoint.id,
      recommendation: final,
      attempts: 0,
      dueAt: now,
      firstSeenAt: now,
      publishedAt,
    });
  }
  return out;
}
