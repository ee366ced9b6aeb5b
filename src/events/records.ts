/**
 * The records keyguard writes for others to read, besides the alert itself: dead letters and the
 * webhook payload, as zod schemas (the types and the published JSON Schemas come from these), and
 * the version those records carry. Compatibility rule (docs/events-and-alerts.md): within a
 * version only optional fields are added; removing or changing a field raises the version.
 */
import { z } from 'zod';
import { ErrorCodes } from '../errors.js';
import { type Alert, alertSchema, recommendationSchema } from './schema.js';

/** The version of alerts, recommendations, dead letters and webhook payloads. */
export const RECORD_SCHEMA_VERSION = 1;

/** The Kafka header naming a record's schema and version, e.g. `keyguard.alert/1`. */
export const SCHEMA_HEADER = 'keyguard-schema';
export type RecordKind = 'alert' | 'dead-letter';
export function schemaHeader(kind: RecordKind): Record<string, string> {
  return { [SCHEMA_HEADER]: `keyguard.${kind}/${RECORD_SCHEMA_VERSION}` };
}

/** An alert as a record (Kafka, replay's output): JSON with its schema version first. */
export function alertRecordJson(a: Alert): string {
  return JSON.stringify({ schemaVersion: RECORD_SCHEMA_VERSION, ...a });
}

export const deadLetterSourceSchema = z.object({
  topic: z.string(),
  partition: z.number().int(),
  offset: z.string(),
  timestamp: z.string().optional(),
});

export const deadLetterSchema = z.object({
  schemaVersion: z.number().int().positive().optional(),
  code: z.enum(Object.values(ErrorCodes) as [string, ...string[]]),
  reason: z.string(),
  source: deadLetterSourceSchema,
  key: z.string().optional(),
  /** The original value, base64 (it may not be text). */
  originalBase64: z.string(),
  originalBytes: z.number().int().nonnegative(),
  /** SHA-256 of the original bytes as they were (before redaction), hex. */
  originalSha256: z.string(),
  truncated: z.boolean(),
  /** Secret-looking fields of a JSON original were replaced by "[redacted]". */
  redacted: z.boolean(),
  at: z.string(),
});

/** Set when the revocation circuit breaker turned an automatic action into a review. */
export const breakerNoteSchema = z.object({
  downgradedFrom: recommendationSchema,
  reason: z.string(),
  actionsInWindow: z.number().int(),
  windowSeconds: z.number(),
  maxActions: z.number().int(),
});

/** A recommendation as the dispatcher delivers it: the alert, with the breaker's note if it downgraded it. */
export const deliveredRecommendationSchema = alertSchema.extend({ breaker: breakerNoteSchema.optional() });

/** What a webhook endpoint receives (Standard Webhooks' `{ type, timestamp, data }` envelope). */
export const webhookPayloadSchema = z.object({
  type: z.string(),
  timestamp: z.string(),
  data: deliveredRecommendationSchema,
});
