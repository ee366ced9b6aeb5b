/**
 * Dead-letter records: what could not be processed, why, where it came from, and its original
 * bytes, so nothing is dropped silently and a fixed worker can replay it.
 */
import type { Message } from 'kafkajs';

/** Originals larger than this are cut (and marked) so the record stays under the broker's limit. */
export const DEAD_LETTER_MAX_ORIGINAL = 512 * 1024;

export interface DeadLetterSource {
  topic: string;
  partition: number;
  offset: string;
  timestamp?: string;
}

export interface DeadLetter {
  code: string;
  reason: string;
  source: DeadLetterSource;
  key?: string;
  /** The original value, base64 (it may not be text). */
  originalBase64: string;
  originalBytes: number;
  truncated: boolean;
  /** Secret-looking fields of a JSON original were replaced by "[redacted]". */
  redacted: boolean;
  at: string;
}

const SECRET_KEY = /secret|passphrase|password|signature|token|authorization|private.?key/i;

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
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    return { bytes, redacted: false };
  }
  const r = redactValue(parsed);
  return r.changed
    ? { bytes: Buffer.from(JSON.stringify(r.value)), redacted: true }
    : { bytes, redacted: false };
}

export function deadLetterMessage(
  code: string,
  reason: string,
  source: DeadLetterSource,
  key: Buffer | null | undefined,
  original: Buffer | null | undefined,
): Message {
  const { bytes, redacted } = redactOriginal(original ?? Buffer.alloc(0));
  const kept = bytes.subarray(0, DEAD_LETTER_MAX_ORIGINAL);
  const record: DeadLetter = {
    code,
    reason,
    source,
    ...(key ? { key: key.toString('utf8') } : {}),
    originalBase64: kept.toString('base64'),
    originalBytes: bytes.length,
    truncated: kept.length < bytes.length,
    redacted,
    at: new Date().toISOString(),
  };
  return {
    key: key ?? null,
    value: JSON.stringify(record),
    headers: {
      'keyguard-error-code': code,
      'keyguard-source': `${source.topic}/${source.partition}/${source.offset}`,
    },
  };
}
