import { describe, expect, it } from 'vitest';
import { type DeadLetter, deadLetterMessage } from '../../src/worker/dead-letter.js';

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

  it('cut an original too large for the broker and say so', () => {
    const big = Buffer.alloc(600 * 1024, 'a');
    const d = JSON.parse(
      String(deadLetterMessage('KG_ERR_EVENT_TOO_LARGE', 'big', source, null, big).value),
    ) as DeadLetter;
    expect(d.truncated).toBe(true);
    expect(d.originalBytes).toBe(big.length);
  });
});
