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
  at: string;
}

export function deadLetterMessage(
  code: string,
  reason: string,
  source: DeadLetterSource,
  key: Buffer | null | undefined,
  original: Buffer | null | undefined,
): Message {
  const bytes = original ?? Buffer.alloc(0);
  const kept = bytes.subarray(0, DEAD_LETTER_MAX_ORIGINAL);
  const record: DeadLetter = {
    code,
    reason,
    source,
    ...(key ? { key: key.toString('utf8') } : {}),
    originalBase64: kept.toString('base64'),
    originalBytes: bytes.length,
    truncated: kept.length < bytes.length,
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
