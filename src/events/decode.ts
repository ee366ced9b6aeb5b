import type { z } from 'zod';
import { type ErrorCode, ErrorCodes } from '../errors.js';
import { fastValidator } from './fast-validate.js';
import { type InputEvent, inputEventSchema } from './schema.js';

/** Largest accepted serialized event; contract events are a few hundred bytes. */
export const MAX_EVENT_BYTES = 64 * 1024;

export type DecodeResult = { ok: true; event: InputEvent } | { ok: false; code: ErrorCode; reason: string };

/** A record that did not decode: the error code and a reason naming the offending field. */
export type DecodeFailure = { ok: false; code: ErrorCode; reason: string };

/** Step one of every decoding, the bytes as JSON, failed. */
function notJson(code: ErrorCode, err: unknown): DecodeFailure {
  return { ok: false, code, reason: `not JSON: ${(err as Error).message}` };
}

/**
 * The one decoding path of a Kafka record's value: JSON, then the zod schema. Never throws; a
 * failure carries `code` and the offending fields (for the dead letter).
 */
export function decodeRecord<T>(
  value: Buffer | string | null | undefined,
  schema: z.ZodType<T>,
  code: ErrorCode,
): { ok: true; value: T } | DecodeFailure {
  const text = typeof value === 'string' ? value : (value?.toString('utf8') ?? '');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return notJson(code, err);
  }
  const r = schema.safeParse(json);
  return r.success ? { ok: true, value: r.data } : { ok: false, code, reason: describeIssues(r.error, 5) };
}

/** Names the offending field(s) of a zod failure: "price: expected number, received string". */
export function describeIssues(error: z.ZodError, limit = 3): string {
  const parts = error.issues.slice(0, limit).map((issue) => {
    const where = issue.path.length > 0 ? issue.path.join('.') : '(event)';
    return `${where}: ${issue.message}`;
  });
  if (error.issues.length > limit) parts.push(`(+${error.issues.length - limit} more)`);
  return parts.join('; ');
}

/** The contract's compiled check (the hot path); zod decides and explains whatever it does not accept. */
const fastEvent = fastValidator(inputEventSchema);

export function validateEvent(value: unknown): DecodeResult {
  const event = fastEvent(value);
  if (event) return { ok: true, event };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, code: ErrorCodes.EVENT_INVALID, reason: '(event): expected a JSON object' };
  }
  const parsed = inputEventSchema.safeParse(value);
  if (!parsed.success) {
    return { ok: false, code: ErrorCodes.EVENT_INVALID, reason: describeIssues(parsed.error) };
  }
  return { ok: true, event: parsed.data };
}

/**
 * How far ahead of the clock an event may be dated. No real event is from the future: an order
 * dated in the year 3000 would hold its account's windows (and a replay's reordering and expiry) on
 * that time. The clock is the wall clock, also in a replay (a recorded stream lies in the past), so a
 * replay and the worker refuse the same events. A small skew allows for producers' clocks.
 */
export interface EventClock {
  now: number;
  maxFutureSkewMs: number;
}

function isoOrNumber(t: number): string {
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? String(t) : d.toISOString();
}

/** Refuses an event dated more than the allowed skew ahead of the clock. */
export function checkEventTime(event: InputEvent, clock: EventClock): DecodeResult {
  const ahead = event.timestamp - clock.now;
  if (ahead <= clock.maxFutureSkewMs) return { ok: true, event };
  return {
    ok: false,
    code: ErrorCodes.EVENT_TIME_AHEAD,
    reason: `timestamp: ${isoOrNumber(event.timestamp)} is ${Math.round(ahead / 1000)} s ahead of the clock (${isoOrNumber(clock.now)}; at most ${clock.maxFutureSkewMs} ms allowed)`,
  };
}

/** Decodes one serialized event (a Kafka message value or a JSONL line). Never throws. */
export function decodeEvent(text: string, clock?: EventClock): DecodeResult {
  if (text.length > MAX_EVENT_BYTES) {
    return {
      ok: false,
      code: ErrorCodes.EVENT_TOO_LARGE,
      reason: `event is ${text.length} bytes, over the ${MAX_EVENT_BYTES}-byte limit`,
    };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return notJson(ErrorCodes.EVENT_NOT_JSON, err);
  }
  const decoded = validateEvent(json);
  return decoded.ok && clock ? checkEventTime(decoded.event, clock) : decoded;
}

/** A stable identifier for any input event (tickers and key events have no id of their own). */
export function eventId(event: InputEvent): string {
  switch (event.kind) {
    case 'order':
      return `order:${event.id}:${event.status}`;
    case 'fill':
      return `fill:${event.id}`;
    case 'trade':
      return `trade:${event.id}`;
    case 'ticker':
      return `ticker:${event.symbol}:${event.timestamp}`;
    case 'apikey':
      return `apikey:${event.apiKeyId}:${event.action}:${event.timestamp}`;
  }
}
