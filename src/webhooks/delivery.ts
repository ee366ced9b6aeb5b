/**
 * A delivery: one recommendation for one endpoint, with its attempt history. First attempts are
 * made straight from the recommendations topic; a delivery that must wait for a retry is written
 * to the retry topic as this record, so the wait survives a restart of the dispatcher.
 */
import { z } from 'zod';
import {
  type breakerNoteSchema,
  deliveredRecommendationSchema,
  type webhookPayloadSchema,
} from '../events/records.js';
import type { Alert } from '../events/schema.js';

export type BreakerNote = z.infer<typeof breakerNoteSchema>;

/** What the endpoint receives (Standard Webhooks' `{ type, timestamp, data }` envelope). */
export type WebhookPayload = z.infer<typeof webhookPayloadSchema>;

export const deliverySchema = z.object({
  webhookId: z.string().min(1),
  endpointId: z.string().min(1),
  recommendation: deliveredRecommendationSchema,
  /** Attempts made so far. */
  attempts: z.number().int().min(0),
  /** Wall-clock ms: when the next attempt may be made. */
  dueAt: z.number().int(),
  /** Wall-clock ms: when the recommendation was first seen by the dispatcher. */
  firstSeenAt: z.number().int(),
  /** Kafka timestamp (ms) of the recommendation record: delivery latency is measured from here. */
  publishedAt: z.number().int().optional(),
  lastError: z.string().optional(),
});
export type Delivery = z.infer<typeof deliverySchema>;

export function webhookPayload(d: Delivery): WebhookPayload {
  return {
    type: `keyguard.recommendation.${d.recommendation.recommendation}`,
    timestamp: new Date(d.recommendation.timestamp).toISOString(),
    data: d.recommendation,
  };
}

/** The recommendation as the breaker leaves it: automatic actions become reviews while it is open. */
export function applyBreaker(
  rec: Alert,
  note: Omit<BreakerNote, 'downgradedFrom'> | undefined,
): Delivery['recommendation'] {
  if (!note) return rec;
  return { ...rec, recommendation: 'review', breaker: { downgradedFrom: rec.recommendation, ...note } };
}
