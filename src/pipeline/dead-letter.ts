/**
 * Dead-letter records: what could not be processed, why, where it came from, and the start of its
 * original bytes with their size and hash, so nothing is dropped silently, the original can be
 * found again at its source offset, and a fixed worker can replay it.
 */
import { createHash } from 'node:crypto';
import type { Message } from 'kafkajs';
import type { z } from 'zod';
import type { ErrorCode } from '../errors.js';
import {
  type deadLetterSchema,
  type deadLetterSourceSchema,
  RECORD_SCHEMA_VERSION,
  schemaHeader,
} from '../events/records.js';
import { SECRET_NAME } from '../secret-fields.js';

/**
 * At most this much of the original travels in the dead letter (base64, so ~11 KB of record): a
 * poison record may be as large as the broker allows, and ten of them in one batch must not make a
 * publish the broker refuses. The rest stays at the source offset (`source`), named by its hash.
 */
export const DEAD_LETTER_MAX_ORIGINAL = 8 * 1024;

export type DeadLetterSource = z.infer<typeof deadLetterSourceSchema>;
export type DeadLetter = Omit<z.infer<typeof deadLetterSchema>, 'code'> & { code: ErrorCode };

const SECRET_KEY = SECRET_NAME;
/** A secret-looking JSON member in text that does not parse: `"apiSecret" : "…"` (value cut or not). */
const SECRET_PAIR = new RegExp(
  `("[^"]*(?:${SECRET_NAME.source})[^"]*"\\s*:\\s*)"(?:[^"\\\\]|\\\\.)*"?`,
  'gi',
);

function redactValue(value: unknown): { value: unknown; changed: boolean } {
  if (Array.isArray(value)) {
    let changed = false;
    const out = value.map((v) => {
      const r = redactValue(v);
      changed ||= r.changed;
      return r.value;
    });
    return { value: out, changed };
  }
  if (typeof value === 'object' && value !== null) {
    let changed = false;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (SECRET_KEY.test(k)) {
        out[k] = '[redacted]';
        changed = true;
      } else {
        const r = redactValue(v);
        out[k] = r.value;
        changed ||= r.changed;
      }
    }
    return { value: out, changed };
  }
  return { value, changed: false };
}

/** A JSON original keeps its shape with secret-looking fields redacted; other bytes stay as they are. */
export function redactOriginal(bytes: Buffer): { bytes: Buffer; redacted: boolean } {
  let parsed: unknown;
  const text = bytes.toString('utf8');
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON (or cut short): still blank the values of secret-looking "key": "value" pairs.
    const scrubbed = text.replace(SECRET_PAIR, (_m, k: string) => `${k}"[redacted]"`);
    return scrubbed === text ? { bytes, redacted: false } : { bytes: Buffer.from(scrubbed), redacted: true };
  }
  const r = redactValue(parsed);
  return r.changed
    ? { bytes: Buffer.from(JSON.stringify(r.value)), redacted: true }
    : { bytes, redacted: false };
}

export function deadLetterMessage(
  code: ErrorCode,
  reason: string,
  source: DeadLetterSource,
  key: Buffer | null | undefined,
  original: Buffer | null | undefined,
): Message {
  const raw = original ?? Buffer.alloc(0);
  const { bytes, redacted } = redactOriginal(raw);
  const kept = bytes.subarray(0, DEAD_LETTER_MAX_ORIGINAL);
  const record: DeadLetter = {
    schemaVersion: RECORD_SCHEMA_VERSION,
    code,
    reason,
    source,
    ...(key ? { key: key.subarray(0, 1024).toString('utf8') } : {}),
    originalBase64: kept.toString('base64'),
    originalBytes: raw.length,
    originalSha256: createHash('sha256').update(raw).digest('hex'),
    truncated: kept.length < bytes.length,
    redacted,
    at: new Date().toISOString(),
  };
  return {
    key: key ? key.subarray(0, 1024) : null,
    value: JSON.stringify(record),
    headers: {
      ...schemaHeader('dead-letter'),
      'keyguard-error-code': code,
      'keyguard-source': `${source.topic}/${source.partition}/${source.offset}`,
    },
  };
}
