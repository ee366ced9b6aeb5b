import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { messageBytes } from '../../src/kafka/acked-producer.js';
import {
  DEAD_LETTER_MAX_ORIGINAL,
  type DeadLetter,
  deadLetterMessage,
} from '../../src/pipeline/dead-letter.js';

const source = { topic: 't', partition: 0, offset: '7' };

describe('dead letters', () => {
  it('keep the original bytes, the reason and the source', () => {
    const m = deadLetterMessage(
      'KG_ERR_EVENT_NOT_JSON',
      'not JSON',
      source,
      Buffer.from('k'),
      Buffer.from('oops'),
    );
    const d = JSON.parse(String(m.value)) as DeadLetter;
    expect(d).toMatchObject({
      code: 'KG_ERR_EVENT_NOT_JSON',
      reason: 'not JSON',
      source,
      key: 'k',
      redacted: false,
    });
    expect(Buffer.from(d.originalBase64, 'base64').toString()).toBe('oops');
    expect(m.headers).toMatchObject({
      'keyguard-error-code': 'KG_ERR_EVENT_NOT_JSON',
      'keyguard-source': 't/0/7',
    });
  });

  it('redact secret-looking fields of a JSON original, however deep', () => {
    const original = JSON.stringify({
      kind: 'fill',
      price: 'x',
      apiSecret: 'S3CR3T',
      meta: { passphrase: 'PP', keys: [{ token: 'TK' }] },
    });
    const d = JSON.parse(
      String(deadLetterMessage('KG_ERR_EVENT_INVALID', 'price', source, null, Buffer.from(original)).value),
    ) as DeadLetter;
    const text = Buffer.from(d.originalBase64, 'base64').toString();
    expect(text).not.toMatch(/S3CR3T|PP|TK/);
    expect(JSON.parse(text)).toMatchObject({ kind: 'fill', price: 'x', apiSecret: '[redacted]' });
    expect(d.redacted).toBe(true);
  });

  it('carry a bounded prefix of a large original, with its size and hash', () => {
    const big = Buffer.alloc(1024 * 1024, 'a');
    const m = deadLetterMessage('KG_ERR_EVENT_TOO_LARGE', 'big', source, Buffer.alloc(5000, 'k'), big);
    const d = JSON.parse(String(m.value)) as DeadLetter;
    expect(d.truncated).toBe(true);
    expect(d.originalBytes).toBe(big.length);
    expect(Buffer.from(d.originalBase64, 'base64').length).toBe(DEAD_LETTER_MAX_ORIGINAL);
    expect(d.originalSha256).toBe(createHash('sha256').update(big).digest('hex'));
    // The whole record stays small whatever the original's size (ten fit well under 1 MiB).
    expect(messageBytes(m)).toBeLessThan(16 * 1024);
  });

  it('blank secret-looking values in an original that is not JSON (or was cut)', () => {
    const text = `{"kind":"fill","apiSecret":"S3CR3T","note":"${'x'.repeat(100)}`;
    const d = JSON.parse(
      String(deadLetterMessage('KG_ERR_EVENT_NOT_JSON', 'cut', source, null, Buffer.from(text)).value),
    ) as DeadLetter;
    const kept = Buffer.from(d.originalBase64, 'base64').toString();
    expect(kept).not.toContain('S3CR3T');
    expect(kept).toContain('"apiSecret":"[redacted]"');
    expect(d.redacted).toBe(true);
  });
});
